namespace Tta.Cache;

/// <summary>
/// One unit of a stage (one model for Download, one model × text for Extract, …). A unit declares what it reads and
/// writes (<see cref="Declare"/>) and writes its outputs (<see cref="Run"/>); <see cref="StageRunner"/> derives its
/// fingerprint from the declaration, decides whether it is up to date and records its manifest.
/// </summary>
public abstract class StageUnit
{
    public abstract string Stage { get; }

    /// <summary>Identifies the unit within its stage, e.g. <c>default/minilm/prose</c>.</summary>
    public abstract string Key { get; }

    /// <summary>Identifies the unit in the whole graph: <c>Stage:Key</c>, e.g. <c>Extract:default/minilm/prose</c>.</summary>
    public string Id => $"{Stage}:{Key}";

    public abstract string ManifestPath { get; }

    /// <summary>Its code version, upstream units, configuration values and outputs. Cheap; reads nothing from disk.</summary>
    public abstract UnitDeclaration Declare();

    private StageFingerprint? fingerprint;

    /// <summary>
    /// The fingerprint of the declaration, with the recorded output hashes of the upstream units; throws
    /// <see cref="MissingInputException"/> when one of them is not built (the unit is then stale). Computed once per
    /// unit object, by whichever asks first (Check, else Run); Run, its manifest and the unit's own files reuse it.
    /// A unit object serves one run, whose executors check a unit only once its upstream units are built, so the
    /// upstream records it is derived from do not change under it.
    /// </summary>
    public StageFingerprint Fingerprint() => fingerprint ??= StageFingerprint.Of(this);

    /// <summary>
    /// For a unit that records files it does not write (a local checkpoint folder), the files it would record if it
    /// ran now, listed afresh (absolute paths); null for a unit whose outputs are its own. <see cref="StageRunner.Check"/>
    /// compares them with the recorded outputs, so a file added since makes the unit stale (one removed or edited
    /// already does, as for every output).
    /// </summary>
    public virtual IReadOnlyList<string>? CurrentOutputs() => null;

    /// <summary>Writes the outputs (each atomically) and returns their absolute paths.</summary>
    public abstract IReadOnlyList<string> Run(RunContext context);

    /// <summary>
    /// What the unit needs while it runs, for scheduling; called when its upstream units are built (so it may read
    /// their outputs, e.g. a checkpoint's config for a memory estimate).
    /// </summary>
    public virtual UnitResources Resources(RunContext context) => UnitResources.Small;

    /// <summary>Facts downstream units read from the manifest (e.g. the checkpoint directory).</summary>
    public virtual IReadOnlyDictionary<string, string>? Facts(IReadOnlyList<OutputRecord> outputs) => null;

    public override string ToString() => Id;
}
