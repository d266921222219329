using System.Net;
using System.Reflection;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using Tta.Core;

namespace Tta.Explorer;

/// <summary>
/// Writes the explorer page: the template, style and script embedded in this assembly (Assets/), the page data as JSON
/// and every quantised map's codes as base64 of raw deflate, one inert script element each
/// (<c>&lt;script type="application/octet-stream" id="mN"&gt;</c>), which the page inflates only when a view needs the
/// map. Nothing is fetched: the page is one file that works from <c>file://</c>; its content security policy allows
/// no network at all.
/// </summary>
public static class ExplorerPage
{
    public const string FileName = "index.html";

    private static readonly string[] AssetNames = ["explorer.html", "explorer.css", "explorer.js"];

    private static readonly JsonSerializerOptions Json = new()
    {
        PropertyNamingPolicy = JsonNamingPolicy.CamelCase,
        // Non-ASCII stays as is (tokens); <, >, & and quotes are still escaped, so no text can close the script element.
        Encoder = System.Text.Encodings.Web.JavaScriptEncoder.Create(System.Text.Unicode.UnicodeRanges.All),
        WriteIndented = false,
        Converters = { new ViewEntryJsonConverter() },
    };

    public static string Asset(string name)
    {
        using var stream = Assembly.GetExecutingAssembly().GetManifestResourceStream("Tta.Explorer.Assets." + name)
            ?? throw new InvalidOperationException($"explorer asset {name} is not embedded in the assembly");
        using var reader = new StreamReader(stream, Encoding.UTF8);
        return reader.ReadToEnd();
    }

    /// <summary>SHA-256 of the page's template, style and script: a new one rebuilds every explorer page.</summary>
    public static string AssetsSha256 { get; } = Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(
        string.Join("\0", AssetNames.Select(Asset)))));

    /// <summary>The page's HTML.</summary>
    public static string Html(PageData data, IReadOnlyList<QuantizedMap> maps)
    {
        ArgumentNullException.ThrowIfNull(data);
        var template = Asset("explorer.html");
        var sb = new StringBuilder(maps.Sum(m => m.Compressed.Length) * 4 / 3 + 1_000_000);
        var parts = new Dictionary<string, Action>
        {
            ["{{TITLE}}"] = () => sb.Append(WebUtility.HtmlEncode(data.Title)),
            ["{{CSS}}"] = () => sb.Append(Asset("explorer.css")),
            ["{{JS}}"] = () => sb.Append(Asset("explorer.js")),
            ["{{DATA}}"] = () => sb.Append(JsonSerializer.Serialize(data, Json)),
            ["{{MAPS}}"] = () =>
            {
                for (var i = 0; i < maps.Count; i++)
                    sb.Append("<script type=\"application/octet-stream\" id=\"m").Append(i).Append("\">")
                      .Append(Convert.ToBase64String(maps[i].Compressed)).Append("</script>\n");
            },
        };
        var at = 0;
        while (at < template.Length)
        {
            var next = template.IndexOf("{{", at, StringComparison.Ordinal);
            if (next < 0)
            {
                sb.Append(template, at, template.Length - at);
                break;
            }
            sb.Append(template, at, next - at);
            var end = template.IndexOf("}}", next, StringComparison.Ordinal) + 2;
            var marker = template[next..end];
            if (!parts.TryGetValue(marker, out var write)) throw new InvalidOperationException($"explorer.html: unknown marker {marker}");
            write();
            at = end;
        }
        return sb.ToString();
    }

    /// <summary>Writes the page atomically to <paramref name="path"/>.</summary>
    public static string Write(string path, PageData data, IReadOnlyList<QuantizedMap> maps)
    {
        AtomicFile.WriteAllText(path, Html(data, maps));
        return path;
    }
}
