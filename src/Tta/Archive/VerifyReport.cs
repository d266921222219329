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

/// <summary>What <see cref="ArchiveVerifier.Verify"/> found: problems name the archive member they concern.</summary>
public sealed record VerifyReport(IReadOnlyList<string> Problems, int MembersChecked, int FiguresCompared)
{
    public bool Ok => Problems.Count == 0;
}
