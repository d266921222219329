using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Text.RegularExpressions;
using Xunit.Abstractions;

namespace Tta.Tests;

/// <summary>A word of a PDF page as poppler's <c>pdftotext -bbox</c> reads it: text and box in points, y down.</summary>
public sealed record PdfWord(string Text, double XMin, double YMin, double XMax, double YMax)
{
    public double XMid => (XMin + XMax) / 2;
    public double YMid => (YMin + YMax) / 2;
}

/// <summary>
/// Text of PDFs as a real reader extracts it: poppler-utils' pdftotext, installed with apt-get when missing. In CI
/// (CI=true) a missing pdftotext fails the test; elsewhere (no apt, not root) the caller skips and says so.
/// </summary>
public static partial class PdfText
{
    public const string Tool = "/usr/bin/pdftotext";

    /// <summary>The pdftotext path, installing poppler-utils if needed; null (outside CI) when it cannot be had.</summary>
    public static string? Require(ITestOutputHelper log)
    {
        if (File.Exists(Tool)) return Tool;
        log.WriteLine("pdftotext missing: apt-get install -y poppler-utils");
        foreach (var args in new[] { "install -y poppler-utils", "update", "install -y poppler-utils" })
        {
            if (File.Exists(Tool)) break;
            try
            {
                var (code, _, err) = Run("apt-get", args.Split(' '));
                if (code != 0) log.WriteLine($"apt-get {args} failed ({code}): {err.Trim()}");
            }
            catch (System.ComponentModel.Win32Exception e)
            {
                log.WriteLine("apt-get unavailable: " + e.Message);
                break;
            }
        }
        if (File.Exists(Tool)) return Tool;
        Assert.True(Environment.GetEnvironmentVariable("CI") != "true", "pdftotext is missing and poppler-utils could not be installed with apt-get");
        log.WriteLine("SKIPPED: pdftotext is not installed and `apt-get install -y poppler-utils` failed; the PDF text check did not run");
        return null;
    }

    /// <summary>Every word on the PDF's pages with its box (<c>pdftotext -bbox</c>).</summary>
    public static List<PdfWord> Words(string tool, string pdf)
    {
        var (code, html, err) = Run(tool, ["-bbox", pdf, "-"]);
        Assert.True(code == 0, $"pdftotext {pdf} failed: {err}");
        return [.. WordPattern().Matches(html).Select(m => new PdfWord(WebUtility.HtmlDecode(m.Groups[5].Value),
            Number(m.Groups[1]), Number(m.Groups[2]), Number(m.Groups[3]), Number(m.Groups[4])))];
    }

    private static double Number(Group g) => double.Parse(g.Value, CultureInfo.InvariantCulture);

    private static (int Code, string Stdout, string Stderr) Run(string file, IEnumerable<string> args)
    {
        var psi = new ProcessStartInfo(file) { RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var a in args) psi.ArgumentList.Add(a);
        psi.Environment["DEBIAN_FRONTEND"] = "noninteractive";
        using var p = Process.Start(psi)!;
        var err = p.StandardError.ReadToEndAsync();
        var output = p.StandardOutput.ReadToEnd();
        p.WaitForExit();
        return (p.ExitCode, output, err.Result);
    }

    [GeneratedRegex("""<word xMin="([0-9.]+)" yMin="([0-9.]+)" xMax="([0-9.]+)" yMax="([0-9.]+)">(.*?)</word>""")]
    private static partial Regex WordPattern();
}
