using System.Diagnostics;
using System.Globalization;
using System.Text.Json;

namespace Tta.Figures;

/// <summary>
/// Times <see cref="HeatmapFigure"/> against matplotlib (Debian's python3-matplotlib, installed with apt when missing)
/// on the same data: <c>count</c> heatmaps of <c>size</c> x <c>size</c> cells, one pixel per cell, each written as PNG
/// and PDF with title, axis labels and colorbar. Not a test: it prints timings, it asserts nothing.
/// </summary>
public static class FigureBenchmark
{
    /// <summary>The Python interpreter that Debian's python3-matplotlib belongs to.</summary>
    public const string DebianPython = "/usr/bin/python3";

    public static void Run(TextWriter log, string workDir, int count = 100, int size = 512)
    {
        ArgumentNullException.ThrowIfNull(log);
        if (count < 1 || size < 2)
            throw new ArgumentException($"count must be at least 1 and size at least 2 (got {count}, {size})");
        workDir = Path.GetFullPath(workDir);
        Directory.CreateDirectory(workDir);
        var dataPath = Path.Combine(workDir, "heatmaps.f32");
        var csDir = Path.Combine(workDir, "tta");
        var pyDir = Path.Combine(workDir, "matplotlib");
        Directory.CreateDirectory(csDir);
        Directory.CreateDirectory(pyDir);

        var data = new float[count][];
        using (var stream = File.Create(dataPath))
        {
            for (var k = 0; k < count; k++)
            {
                data[k] = Matrix(k, size);
                var bytes = new byte[size * size * 4];
                Buffer.BlockCopy(data[k], 0, bytes, 0, bytes.Length);
                if (!BitConverter.IsLittleEndian)
                    throw new PlatformNotSupportedException("the benchmark writes little-endian float32");
                stream.Write(bytes);
            }
        }

        HeatmapSpec Spec(int k) => PaperFigures.Attention(AttentionPanel.Combined, data[k], size, size, cellPixels: 1);
        var layout = HeatmapFigure.ComputeLayout(Spec(0));

        // Warm-up (JIT, font loading) outside the timed loop; matplotlib gets the same below.
        HeatmapFigure.Render(Spec(0), Path.Combine(csDir, "warmup"), ["png", "pdf"]);
        var png = new Stopwatch();
        var pdf = new Stopwatch();
        for (var k = 0; k < count; k++)
        {
            var stem = Path.Combine(csDir, "hm" + k.ToString("000", CultureInfo.InvariantCulture));
            png.Start();
            HeatmapFigure.Render(Spec(k), stem, ["png"]);
            png.Stop();
            pdf.Start();
            HeatmapFigure.Render(Spec(k), stem, ["pdf"]);
            pdf.Stop();
        }
        var csTotal = png.Elapsed.TotalSeconds + pdf.Elapsed.TotalSeconds;
        log.WriteLine(FormattableString.Invariant(
            $"tta (ScottPlot + SkiaSharp): {count} heatmaps {size}x{size} ({layout.Width}x{layout.Height} px) -> PNG {png.Elapsed.TotalSeconds:F2} s + PDF {pdf.Elapsed.TotalSeconds:F2} s = {csTotal:F2} s ({1000 * csTotal / count:F1} ms per heatmap)"));

        if (!EnsureMatplotlib(log))
        {
            log.WriteLine("matplotlib: not available (apt-get install python3-matplotlib failed); no comparison");
            return;
        }
        var script = Path.Combine(workDir, "bench_matplotlib.py");
        File.WriteAllText(script, PythonScript);
        var wall = Stopwatch.StartNew();
        var (rc, stdout, stderr) = Exec(DebianPython,
            [script, dataPath, count.ToString(CultureInfo.InvariantCulture), size.ToString(CultureInfo.InvariantCulture),
             layout.Width.ToString(CultureInfo.InvariantCulture), layout.Height.ToString(CultureInfo.InvariantCulture), pyDir],
            TimeSpan.FromHours(1));
        wall.Stop();
        if (rc != 0)
        {
            log.WriteLine($"matplotlib: script failed (exit {rc}): {stderr.Trim()}");
            return;
        }
        var result = JsonDocument.Parse(stdout.Trim().Split('\n')[^1]).RootElement;
        double pyPng = result.GetProperty("png").GetDouble(), pyPdf = result.GetProperty("pdf").GetDouble(),
            pyDraw = result.GetProperty("build").GetDouble();
        var pyTotal = pyPng + pyPdf + pyDraw;
        log.WriteLine(FormattableString.Invariant(
            $"matplotlib {result.GetProperty("version").GetString()} (Agg, {DebianPython}): build {pyDraw:F2} s + PNG {pyPng:F2} s + PDF {pyPdf:F2} s = {pyTotal:F2} s ({1000 * pyTotal / count:F1} ms per heatmap; process wall {wall.Elapsed.TotalSeconds:F2} s incl. start-up and imports)"));
        log.WriteLine(FormattableString.Invariant(
            $"ratio matplotlib / tta = {pyTotal / csTotal:F2} (PNG {(pyPng + pyDraw / 2) / png.Elapsed.TotalSeconds:F2}, PDF {(pyPdf + pyDraw / 2) / pdf.Elapsed.TotalSeconds:F2}; build time split evenly)"));
    }

    /// <summary>A smooth field plus noise, different for every k, in roughly [-3, 3]; deterministic.</summary>
    public static float[] Matrix(int k, int size)
    {
        var random = new Random(1000 + k);
        var values = new float[size * size];
        for (var r = 0; r < size; r++)
            for (var c = 0; c < size; c++)
                values[r * size + c] = MathF.Sin((r + k) * 0.05f) * MathF.Cos(c * 0.031f) * 2 + (float)(random.NextDouble() - 0.5);
        return values;
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
    /// The matplotlib side: same data, same figure size in pixels (dpi 100), nearest-neighbour imshow with cividis_r,
    /// colorbar, title and axis labels; PNG and PDF. Prints one JSON line with the timings.
    /// </summary>
    private const string PythonScript = """
        import json, os, sys, time
        import matplotlib
        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
        import numpy as np

        data_path, count, size, width, height, out_dir = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4]), int(sys.argv[5]), sys.argv[6]
        data = np.fromfile(data_path, dtype="<f4").reshape(count, size, size)

        def build(a):
            fig = plt.figure(figsize=(width / 100, height / 100), dpi=100)
            ax = fig.add_subplot(1, 1, 1)
            im = ax.imshow(a, cmap="cividis_r", interpolation="nearest", aspect="equal")
            ax.set_title("Combined Attention Score")
            ax.set_xlabel("Key Position")
            ax.set_ylabel("Query Position")
            fig.colorbar(im, ax=ax, label="score")
            return fig

        fig = build(data[0])  # warm-up, as on the C# side
        fig.savefig(os.path.join(out_dir, "warmup.png"), dpi=100)
        fig.savefig(os.path.join(out_dir, "warmup.pdf"))
        plt.close(fig)

        t_build = t_png = t_pdf = 0.0
        for k in range(count):
            stem = os.path.join(out_dir, "hm%03d" % k)
            t0 = time.perf_counter()
            fig = build(data[k])
            t1 = time.perf_counter()
            fig.savefig(stem + ".png", dpi=100)
            t2 = time.perf_counter()
            fig.savefig(stem + ".pdf")
            t3 = time.perf_counter()
            plt.close(fig)
            t_build += t1 - t0
            t_png += t2 - t1
            t_pdf += t3 - t2
        print(json.dumps({"version": matplotlib.__version__, "build": t_build, "png": t_png, "pdf": t_pdf}))

        """;
}
