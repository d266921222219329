using System.Reflection;
using System.Reflection.Emit;
using System.Reflection.Metadata;
using System.Reflection.Metadata.Ecma335;
using System.Reflection.PortableExecutable;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CSharp;
using Microsoft.CodeAnalysis.Operations;

namespace Tta.Tests;

/// <summary>
/// Finds code that hands libtorch a temporary <c>TorchSharp.Scalar</c>: a number converted to a Scalar, or a call to
/// any TorchSharp member that creates one from a number inside (an operator such as <c>Tensor * double</c>,
/// <c>arange(long)</c>, <c>linalg.vector_norm(…, double)</c>). The second set is read from TorchSharp.dll's IL: every
/// method that calls a number→Scalar conversion (<c>Scalar.op_Implicit</c>, <c>ToScalar()</c> on a number), and
/// every TorchSharp method that calls one of those, transitively. Source is bound with Roslyn, so overloads, operators
/// and implicit conversions are resolved exactly as the compiler does.
/// </summary>
public sealed class ScalarUseFinder
{
    private readonly HashSet<int> creators;

    public ScalarUseFinder() => creators = ScalarCreators(typeof(TorchSharp.torch).Assembly.Location);

    /// <summary>How many TorchSharp methods create a Scalar from a number (directly or through others).</summary>
    public int CreatorCount => creators.Count;

    public sealed record Finding(string File, int Line, string Code, string What)
    {
        public override string ToString() => $"{File}:{Line}: {Code} — {What}";
    }

    /// <summary>The implicit global usings of an SDK project (ImplicitUsings enable).</summary>
    public const string ImplicitUsings = """
        global using System;
        global using System.Collections.Generic;
        global using System.IO;
        global using System.Linq;
        global using System.Net.Http;
        global using System.Threading;
        global using System.Threading.Tasks;
        """;

    /// <summary>Compiles <paramref name="sources"/> (path, text) against the assemblies the tests run with.</summary>
    public static CSharpCompilation Compile(string assemblyName, IEnumerable<(string Path, string Text)> sources,
        IEnumerable<MetadataReference>? extra = null, OutputKind kind = OutputKind.DynamicallyLinkedLibrary) =>
        CSharpCompilation.Create(assemblyName,
            sources.Append((Path: "GlobalUsings.g.cs", Text: ImplicitUsings))
                .Select(s => CSharpSyntaxTree.ParseText(s.Text, new CSharpParseOptions(LanguageVersion.Preview), s.Path)),
            References().Concat(extra ?? []),
            new CSharpCompilationOptions(kind, nullableContextOptions: NullableContextOptions.Disable, allowUnsafe: true));

    /// <summary>Errors other than partial methods whose bodies a source generator writes (GeneratedRegex, LibraryImport).</summary>
    public static IReadOnlyList<string> Errors(Compilation compilation) =>
        [.. compilation.GetDiagnostics().Where(d => d.Severity == DiagnosticSeverity.Error && d.Id != "CS8795").Select(d => d.ToString())];

    /// <summary>
    /// Every temporary-scalar use in <paramref name="compilation"/>, and every expression that did not bind (such code
    /// cannot be checked; the caller requires none).
    /// </summary>
    public (IReadOnlyList<Finding> Findings, IReadOnlyList<string> Unbound) Scan(Compilation compilation)
    {
        var findings = new System.Collections.Concurrent.ConcurrentBag<Finding>();
        var unbound = new System.Collections.Concurrent.ConcurrentBag<string>();
        Parallel.ForEach(compilation.SyntaxTrees, tree =>
        {
            var local = new List<Finding>();
            Walk(tree.GetRoot(), compilation.GetSemanticModel(tree), local, unbound);
            foreach (var f in local) findings.Add(f);
        });
        return ([.. findings.Distinct().OrderBy(f => f.File, StringComparer.Ordinal).ThenBy(f => f.Line)], [.. unbound.Order(StringComparer.Ordinal)]);
    }

    public IReadOnlyList<Finding> Findings(Compilation compilation) => Scan(compilation).Findings;

    /// <summary>The outermost syntax with an operation tree (a member body, an initializer) is checked whole.</summary>
    private void Walk(SyntaxNode node, SemanticModel model, List<Finding> findings, System.Collections.Concurrent.ConcurrentBag<string> unbound)
    {
        if (model.GetOperation(node) is { } op)
        {
            foreach (var o in op.DescendantsAndSelf())
            {
                if (o.Kind == OperationKind.Invalid)
                    unbound.Add($"{o.Syntax.GetLocation().GetLineSpan().Path}:{o.Syntax.GetLocation().GetLineSpan().StartLinePosition.Line + 1}: {o.Syntax}");
                Check(o, findings);
            }
            return;
        }
        foreach (var child in node.ChildNodes()) Walk(child, model, findings, unbound);
    }

    private void Check(IOperation op, List<Finding> findings)
    {
        string? what = op switch
        {
            IConversionOperation { OperatorMethod: { } m } when IsScalar(m.ContainingType) && !IsScalar(m.Parameters[0].Type) =>
                $"a number converted to a temporary Scalar ({m.Parameters[0].Type})",
            IInvocationOperation i => Check(i.TargetMethod),
            IBinaryOperation { OperatorMethod: { } m } => Check(m),
            IUnaryOperation { OperatorMethod: { } m } => Check(m),
            ICompoundAssignmentOperation { OperatorMethod: { } m } => Check(m),
            IObjectCreationOperation { Constructor: { } m } => Check(m),
            IMethodReferenceOperation r => Check(r.Method),
            IPropertyReferenceOperation p => (p.Property.GetMethod is { } g ? Check(g) : null) ?? (p.Property.SetMethod is { } s ? Check(s) : null),
            _ => null,
        };
        if (what is null) return;
        var span = op.Syntax.GetLocation().GetLineSpan();
        findings.Add(new Finding(span.Path, span.StartLinePosition.Line + 1, op.Syntax.ToString(), what));
    }

    private string? Check(IMethodSymbol method)
    {
        var m = method.OriginalDefinition;
        if (m.ContainingAssembly?.Name != "TorchSharp" || !creators.Contains(m.MetadataToken)) return null;
        return $"TorchSharp's {m.ContainingType.Name}.{m.Name}({string.Join(", ", m.Parameters.Select(p => p.Type.ToDisplayString(SymbolDisplayFormat.MinimallyQualifiedFormat)))}) creates a temporary Scalar";
    }

    private static bool IsScalar(ITypeSymbol? t) => t is { Name: "Scalar", ContainingNamespace.Name: "TorchSharp" };

    /// <summary>The assemblies the test process runs with (the framework and every DLL beside the tests, ours excepted).</summary>
    private static IEnumerable<MetadataReference> References()
    {
        var platform = ((string)AppContext.GetData("TRUSTED_PLATFORM_ASSEMBLIES")!).Split(Path.PathSeparator);
        var own = new HashSet<string>(StringComparer.Ordinal) { "Tta.dll", "Tta.Build.dll", "tta-cli.dll", "Tta.Tests.dll" };
        var local = Directory.GetFiles(AppContext.BaseDirectory, "*.dll");
        return platform.Concat(local).Where(f => !own.Contains(Path.GetFileName(f))).Where(IsManaged).DistinctBy(Path.GetFileName)
            .Select(f => MetadataReference.CreateFromFile(f));
    }

    private static bool IsManaged(string path)
    {
        try
        {
            using var pe = new PEReader(File.OpenRead(path));
            return pe.HasMetadata;
        }
        catch (BadImageFormatException)
        {
            return false;
        }
    }

    // ---- TorchSharp.dll's IL -------------------------------------------------------------------------------------------

    private static readonly Dictionary<short, OpCode> OpCodesByValue = typeof(OpCodes)
        .GetFields(BindingFlags.Public | BindingFlags.Static).Select(f => (OpCode)f.GetValue(null)!).ToDictionary(o => o.Value);

    /// <summary>Metadata tokens of the TorchSharp methods that create a Scalar from a number, directly or transitively.</summary>
    private static HashSet<int> ScalarCreators(string path)
    {
        using var pe = new PEReader(File.OpenRead(path));
        var md = pe.GetMetadataReader();
        var seeds = new HashSet<int>();
        foreach (var th in md.TypeDefinitions)
        {
            var type = md.GetTypeDefinition(th);
            var (ns, name) = (md.GetString(type.Namespace), md.GetString(type.Name));
            if (ns != "TorchSharp" || name is not ("Scalar" or "ScalarExtensionMethods")) continue;
            foreach (var mh in type.GetMethods())
            {
                var methodName = md.GetString(md.GetMethodDefinition(mh).Name);
                if (methodName is "op_Implicit" or "ToScalar") seeds.Add(MetadataTokens.GetToken(mh));
            }
        }
        // callee → callers over TorchSharp's own methods
        var callers = new Dictionary<int, List<int>>();
        foreach (var mh in md.MethodDefinitions)
        {
            var def = md.GetMethodDefinition(mh);
            if (def.RelativeVirtualAddress == 0) continue;
            var caller = MetadataTokens.GetToken(mh);
            foreach (var callee in Callees(pe.GetMethodBody(def.RelativeVirtualAddress).GetILReader(), md))
            {
                if (!callers.TryGetValue(callee, out var list)) callers[callee] = list = [];
                list.Add(caller);
            }
        }
        var result = new HashSet<int>(seeds);
        var queue = new Queue<int>(seeds);
        while (queue.Count > 0)
            foreach (var caller in callers.GetValueOrDefault(queue.Dequeue()) ?? [])
                if (result.Add(caller)) queue.Enqueue(caller);
        return result;
    }

    private static IEnumerable<int> Callees(BlobReader il, MetadataReader md)
    {
        var found = new List<int>();
        while (il.RemainingBytes > 0)
        {
            short code = il.ReadByte();
            if (code == 0xFE) code = unchecked((short)(0xFE00 | il.ReadByte()));
            var op = OpCodesByValue[code];
            switch (op.OperandType)
            {
                case OperandType.InlineNone:
                    break;
                case OperandType.ShortInlineBrTarget or OperandType.ShortInlineI or OperandType.ShortInlineVar:
                    il.ReadByte();
                    break;
                case OperandType.InlineVar:
                    il.ReadInt16();
                    break;
                case OperandType.InlineI8 or OperandType.InlineR:
                    il.ReadInt64();
                    break;
                case OperandType.InlineSwitch:
                    var n = il.ReadInt32();
                    il.Offset += 4 * n;
                    break;
                case OperandType.InlineMethod:
                    var token = il.ReadInt32();
                    var handle = MetadataTokens.EntityHandle(token);
                    if (handle.Kind == HandleKind.MethodSpecification)
                        handle = md.GetMethodSpecification((MethodSpecificationHandle)handle).Method;
                    if (handle.Kind == HandleKind.MethodDefinition) found.Add(MetadataTokens.GetToken(handle));
                    break;
                default:
                    il.ReadInt32();
                    break;
            }
        }
        return found;
    }
}
