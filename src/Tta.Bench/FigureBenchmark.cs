using System.Diagnostics;
using System.Globalization;
using System.Text.Json;
using Tta.Figures;
using Tta.Metrics.Attention;

namespace Tta.Bench;

/// <summary>
/// Times <see cref="HeatmapFigure"/> against matplotlib (Debian's python3-matplotlib, installed with apt when missing)
/// on the same data, side by side in one run: <c>count</c> decoder attention panels of <c>size</c> × <c>size</c> cells
/// (a causal mask, every token labelled), each written as PNG and PDF at the same pixel size on both sides, with the
/// same labels, title, colour bar and fonts (DejaVu Sans). tta renders on <c>workers</c> threads (all cores by
/// default), matplotlib in one process. Not a test: it prints timings and sizes, it asserts nothing.
/// </summary>
public static class FigureBenchmark
{
    /// <summary>The Python interpreter that Debian's python3-matplotlib belongs to.</summary>
    public const string DebianPython = "/usr/bin/python3";

    private const string Title = "flan-t5-xl · rubric · decoder · block 0 · layer.0.SelfAttention · head 21 · Combined Attention Score";

    public static void Run(TextWriter log, string workDir, int count = 100, int size = 512, int cellPixels = 12, int workers = 0)
    {
        ArgumentNullException.ThrowIfNull(log);
        if (count < 1 || size < 2 || cellPixels < 1)
            throw new ArgumentException($"count must be at least 1, size at least 2 and cell at least 1 (got {count}, {size}, {cellPixels})");
        if (workers < 1) workers = Environment.ProcessorCount;
        workDir = Path.GetFullPath(workDir);
        var dataPath = Path.Combine(workDir, "heatmaps.f32");
        var csDir = Path.Combine(workDir, "tta");
        var pyDir = Path.Combine(workDir, "matplotlib");
        foreach (var dir in new[] { csDir, pyDir })
        {
            if (Directory.Exists(dir)) Directory.Delete(dir, recursive: true);
            Directory.CreateDirectory(dir);
        }

        var tokens = Tokens(size);
        var data = new float[count][];
        using (var stream = File.Create(dataPath))
        {
            if (!BitConverter.IsLittleEndian)
                throw new PlatformNotSupportedException("the benchmark writes little-endian float32");
            for (var k = 0; k < count; k++)
            {
                data[k] = Matrix(k, size);
                var bytes = new byte[size * size * 4];
                Buffer.BlockCopy(data[k], 0, bytes, 0, bytes.Length);
                stream.Write(bytes);
            }
        }
        HeatmapSpec Spec(int k) => PaperFigures.Attention(AttentionPanel.Combined, data[k], size, size, tokens, tokens, cellPixels: cellPixels) with { Title = Title };
        var plan = HeatmapFigure.Plan(Spec(0));
        var layout = plan.Layout;
        var points = FigureFiles.PointsPerPixel(FigureFiles.DefaultDpi);
        log.WriteLine(FormattableString.Invariant(
            $"figures: {count} heatmaps of {size}x{size} cells ({cellPixels} px each; {layout.Width}x{layout.Height} px, PDF page {layout.Width * points:F0}x{layout.Height * points:F0} pt), every token labelled, causal mask, PNG + PDF"));

        // Warm-up (JIT, font loading) outside the timed runs; matplotlib gets the same below.
        HeatmapFigure.Render(Spec(0), Path.Combine(csDir, "warmup"), ["png", "pdf"]);
        string Stem(string dir, int k) => Path.Combine(dir, "hm" + k.ToString("000", CultureInfo.InvariantCulture));
        var jobs = Enumerable.Range(0, count)
            .Select(k => new FigureJob($"hm{k}", () => HeatmapFigure.Render(Spec(k), Stem(csDir, k), ["png", "pdf"]))).ToList();
        var wall = Stopwatch.StartNew();
        FigureJobs.Run(jobs, workers);
        wall.Stop();
        var csWall = wall.Elapsed.TotalSeconds;
        var serialCount = Math.Min(count, 5);
        var serial = Stopwatch.StartNew();
        FigureJobs.Run(jobs.Take(serialCount).ToList(), 1);
        serial.Stop();
        var csPdf = Enumerable.Range(0, count).Average(k => new FileInfo(Stem(csDir, k) + ".pdf").Length);
        var csPng = Enumerable.Range(0, count).Average(k => new FileInfo(Stem(csDir, k) + ".png").Length);
        log.WriteLine(FormattableString.Invariant(
            $"tta (SkiaSharp), {workers} worker(s) on {Environment.ProcessorCount} core(s): wall {csWall:F2} s ({1000 * csWall / count:F0} ms per heatmap); one worker: {1000 * serial.Elapsed.TotalSeconds / serialCount:F0} ms per heatmap ({serialCount} heatmaps)"));

        if (!EnsureMatplotlib(log))
        {
            log.WriteLine("matplotlib: not available (apt-get install python3-matplotlib failed); no comparison");
            return;
        }
        var script = Path.Combine(workDir, "bench_matplotlib.py");
        File.WriteAllText(script, PythonScript);
        var config = Path.Combine(workDir, "bench_matplotlib.json");
        var data0 = plan.Layout;
        File.WriteAllText(config, JsonSerializer.Serialize(new Dictionary<string, object>
        {
            ["data"] = dataPath,
            ["out"] = pyDir,
            ["count"] = count,
            ["size"] = size,
            ["width"] = data0.Width,
            ["height"] = data0.Height,
            ["left"] = data0.Left,
            ["top"] = data0.Top,
            ["cell"] = cellPixels,
            ["colorbar_left"] = data0.Left + data0.DataWidth + plan.ColorbarGap,
            ["colorbar_width"] = plan.ColorbarWidth,
            ["dpi"] = FigureFiles.DefaultDpi,
            ["token_pt"] = plan.Y.FontSize * points,
            ["title_pt"] = plan.TitleSize * points,
            ["label_pt"] = plan.LabelSize * points,
            ["tick_pt"] = plan.TickSize * points,
            ["title"] = Title,
            ["tokens"] = TokenLabels.Labels(tokens),
            ["mask_below"] = MaskedValues.DefaultThreshold,
        }));
        var process = Stopwatch.StartNew();
        var (rc, stdout, stderr) = Exec(DebianPython, [script, config], TimeSpan.FromHours(6));
        process.Stop();
        if (rc != 0)
        {
            log.WriteLine($"matplotlib: script failed (exit {rc}): {stderr.Trim()}");
            return;
        }
        var result = JsonDocument.Parse(stdout.Trim().Split('\n')[^1]).RootElement;
        double pyPng = result.GetProperty("png").GetDouble(), pyPdf = result.GetProperty("pdf").GetDouble(),
            pyBuild = result.GetProperty("build").GetDouble();
        var pyTotal = pyPng + pyPdf + pyBuild;
        log.WriteLine(FormattableString.Invariant(
            $"matplotlib {result.GetProperty("version").GetString()} (Agg, {DebianPython}, one process): build {pyBuild:F2} s + PNG {pyPng:F2} s + PDF {pyPdf:F2} s = {pyTotal:F2} s ({1000 * pyTotal / count:F0} ms per heatmap; process wall {process.Elapsed.TotalSeconds:F2} s with start-up and imports)"));
        log.WriteLine(FormattableString.Invariant(
            $"wall time tta / matplotlib = {csWall / pyTotal:F3} (goal <= 0.5; tta on {workers} worker(s)); one tta worker / matplotlib = {serial.Elapsed.TotalSeconds / serialCount / (pyTotal / count):F3}"));
        log.WriteLine(FormattableString.Invariant(
            $"bytes per heatmap: PDF tta {csPdf / 1024:F0} KiB, matplotlib {result.GetProperty("pdf_bytes").GetDouble() / 1024:F0} KiB; PNG tta {csPng / 1024:F0} KiB, matplotlib {result.GetProperty("png_bytes").GetDouble() / 1024:F0} KiB"));
    }

    /// <summary>
    /// Pre-softmax decoder scores: a smooth field plus noise, different for every k, with float32's lowest value above
    /// the diagonal (the causal mask as transformers adds it); deterministic.
    /// </summary>
    public static float[] Matrix(int k, int size)
    {
        var random = new Random(1000 + k);
        var values = new float[size * size];
        for (var r = 0; r < size; r++)
            for (var c = 0; c < size; c++)
                values[r * size + c] = c > r
                    ? float.MinValue
                    : MathF.Sin((r + k) * 0.05f) * MathF.Cos(c * 0.031f) * 2 + (float)(random.NextDouble() - 0.5);
        return values;
    }

    /// <summary><paramref name="count"/> SentencePiece tokens of an English passage.</summary>
    public static string[] Tokens(int count)
    {
        var words = ("The grading rubric awards full marks when the essay states a clear thesis , supports it with evidence from "
            + "the reading and anticipates an objection ; partial marks go to answers that restate the prompt without analysis .").Split(' ');
        return [.. Enumerable.Range(0, count).Select(i => (i % 5 == 4 ? "" : "▁") + words[i % words.Length] + (i % 11 == 0 ? "ing" : ""))];
    }

    private static bool EnsureMatplotlib(TextWriter log)
    {
        if (HasMatplotlib())
            return true;
        log.WriteLine("matplotlib missing: apt-get install -y python3-matplotlib");
        var (rc, _, err) = Exec("apt-get", ["install", "-y", "python3-matplotlib"], TimeSpan.FromMinutes(15));
        if (rc != 0)
        {
            Exec("apt-get", ["update"], TimeSpan.FromMinutes(10));
            (rc, _, err) = Exec("apt-get", ["install", "-y", "python3-matplotlib"], TimeSpan.FromMinutes(15));
        }
        if (rc != 0)
            log.WriteLine("apt-get failed: " + err.Trim());
        return HasMatplotlib();
    }

    private static bool HasMatplotlib() =>
        File.Exists(DebianPython) && Exec(DebianPython, ["-c", "import matplotlib, numpy"], TimeSpan.FromMinutes(2)).ExitCode == 0;

    private static (int ExitCode, string Stdout, string Stderr) Exec(string file, IEnumerable<string> args, TimeSpan timeout)
    {
        var psi = new ProcessStartInfo(file)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        foreach (var a in args)
            psi.ArgumentList.Add(a);
        psi.Environment["DEBIAN_FRONTEND"] = "noninteractive";
        psi.Environment["MPLBACKEND"] = "Agg";
        try
        {
            using var process = Process.Start(psi) ?? throw new InvalidOperationException($"could not start {file}");
            var stdout = process.StandardOutput.ReadToEndAsync();
            var stderr = process.StandardError.ReadToEndAsync();
            if (!process.WaitForExit(timeout))
            {
                process.Kill(entireProcessTree: true);
                return (124, stdout.Result, stderr.Result + $"\ntimed out after {timeout}");
            }
            return (process.ExitCode, stdout.Result, stderr.Result);
        }
        catch (System.ComponentModel.Win32Exception e)
        {
            return (127, "", e.Message);
        }
    }

    /// <summary>
    /// The matplotlib side: the same data and figure size in pixels at the same dpi, axes and colour bar at tta's
    /// positions (no layout engine), nearest-neighbour imshow with cividis_r and the mask as "bad" values, every token
    /// labelled at tta's font sizes; PNG and PDF. Prints one JSON line with the timings and mean file sizes.
    /// </summary>
    private const string PythonScript = """
        import json, os, sys, time
        import matplotlib
        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
        import numpy as np

        cfg = json.load(open(sys.argv[1], encoding="utf-8"))
        n, count, dpi = cfg["size"], cfg["count"], cfg["dpi"]
        W, H, L, T, cell = cfg["width"], cfg["height"], cfg["left"], cfg["top"], cfg["cell"]
        data = np.fromfile(cfg["data"], dtype="<f4").reshape(count, n, n)
        cmap = matplotlib.colormaps["cividis_r"].copy()
        cmap.set_bad("#d3d3d3")

        def build(a):
            fig = plt.figure(figsize=(W / dpi, H / dpi), dpi=dpi)
            side = n * cell
            ax = fig.add_axes([L / W, 1 - (T + side) / H, side / W, side / H])
            im = ax.imshow(np.ma.masked_less_equal(a, cfg["mask_below"]), cmap=cmap, interpolation="nearest", aspect="auto")
            ax.set_xticks(range(n))
            ax.set_xticklabels(cfg["tokens"], rotation=90, fontsize=cfg["token_pt"])
            ax.set_yticks(range(n))
            ax.set_yticklabels(cfg["tokens"], fontsize=cfg["token_pt"])
            ax.set_xlabel("Key Position", fontsize=cfg["label_pt"])
            ax.set_ylabel("Query Position", fontsize=cfg["label_pt"])
            ax.set_title(cfg["title"], fontsize=cfg["title_pt"], wrap=True)
            cax = fig.add_axes([cfg["colorbar_left"] / W, 1 - (T + side) / H, cfg["colorbar_width"] / W, side / H])
            bar = fig.colorbar(im, cax=cax)
            bar.set_label("score", fontsize=cfg["label_pt"])
            cax.tick_params(labelsize=cfg["tick_pt"])
            return fig

        fig = build(data[0])  # warm-up, as on the C# side
        fig.savefig(os.path.join(cfg["out"], "warmup.png"), dpi=dpi)
        fig.savefig(os.path.join(cfg["out"], "warmup.pdf"))
        plt.close(fig)

        t_build = t_png = t_pdf = 0.0
        png_bytes = pdf_bytes = 0
        for k in range(count):
            stem = os.path.join(cfg["out"], "hm%03d" % k)
            t0 = time.perf_counter()
            fig = build(data[k])
            t1 = time.perf_counter()
            fig.savefig(stem + ".png", dpi=dpi)
            t2 = time.perf_counter()
            fig.savefig(stem + ".pdf")
            t3 = time.perf_counter()
            plt.close(fig)
            t_build += t1 - t0
            t_png += t2 - t1
            t_pdf += t3 - t2
            png_bytes += os.path.getsize(stem + ".png")
            pdf_bytes += os.path.getsize(stem + ".pdf")
        print(json.dumps({"version": matplotlib.__version__, "build": t_build, "png": t_png, "pdf": t_pdf,
                          "png_bytes": png_bytes / count, "pdf_bytes": pdf_bytes / count}))

        """;
}
