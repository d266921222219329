using Tta.Cache;

namespace Tta.Tests.Cache;

/// <summary>A unit's fingerprint is computed once per unit and run: Check computes it, Run and the unit's own files reuse it.</summary>
public class FingerprintOnceTests
{
    /// <summary>A unit that writes one file holding its own fingerprint, and counts how often it is declared.</summary>
    private sealed class CountingUnit(string root) : StageUnit
    {
        public int Declarations;

        public override string Stage => "Test";
        public override string Key => "once";
        public override string ManifestPath => Path.Combine(root, "once.manifest.json");
        private string OutputPath => Path.Combine(root, "once.txt");

        public override UnitDeclaration Declare()
        {
            Interlocked.Increment(ref Declarations);
            return new UnitDeclaration("once-1").Param("value", 1).Writes(OutputPath);
        }

        public override IReadOnlyList<string> Run(RunContext context)
        {
            File.WriteAllText(OutputPath, Fingerprint().Value);
            return [OutputPath];
        }
    }

    [Fact]
    public void CheckRunAndTheUnitsOwnFilesShareOneComputation()
    {
        var root = Directory.CreateTempSubdirectory("tta-fp-").FullName;
        try
        {
            var ws = new Workspace(root, Path.Combine(root, "cache"), Path.Combine(root, "figures"));
            using var context = new RunContext(ws, [], TextWriter.Null);
            var unit = new CountingUnit(root);
            Assert.False(StageRunner.Check(unit, ws).UpToDate);
            var manifest = StageRunner.Run(unit, context);
            Assert.Equal(1, unit.Declarations);
            Assert.Equal(manifest.Fingerprint, File.ReadAllText(Path.Combine(root, "once.txt")));

            // A new unit object (a later run) computes it again, and finds the unit up to date.
            var later = new CountingUnit(root);
            Assert.True(StageRunner.Check(later, ws).UpToDate);
            Assert.Equal(1, later.Declarations);
        }
        finally
        {
            Directory.Delete(root, recursive: true);
        }
    }
}
