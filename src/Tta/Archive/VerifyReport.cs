using System.IO.Compression;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using Tta.Cache;
using Tta.Config;
using Tta.Figures;
using Tta.Metrics;

namespace Tta.Archive;

/// <summary>
/// What <see cref="ArchiveVerifier.Verify"/> found: problems name the archive member they concern.
/// <see cref="NotRegenerated"/> names the units whose files were made by other code than this tta's (their manifests
/// record another code version), so they were not regenerated and compared, only checksummed; <see cref="MadeBy"/> is
/// the git commit the run manifest records, the tta that can regenerate them.
/// </summary>
public sealed record VerifyReport(IReadOnlyList<string> Problems, int MembersChecked, int FiguresCompared)
{
    public IReadOnlyList<string> NotRegenerated { get; init; } = [];

    public string? MadeBy { get; init; }

    public bool Ok => Problems.Count == 0;

    /// <summary>Every member matched its checksums and everything was regenerated identically.</summary>
    public bool Complete => Ok && NotRegenerated.Count == 0;
}
