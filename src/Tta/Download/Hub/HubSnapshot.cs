namespace Tta.Download.Hub;

/// <summary>
/// A model snapshot in the cache: <see cref="Path"/> is <c>.../models--org--name/snapshots/&lt;sha&gt;</c>;
/// <see cref="Sha256"/> the sha256 of each file's content, checked against its blob's name in this call.
/// </summary>
public sealed record HubSnapshot(string RepoId, string Revision, string CommitSha, string Path, IReadOnlyList<string> Files)
{
    public IReadOnlyDictionary<string, string> Sha256 { get; init; } = new Dictionary<string, string>();
}
