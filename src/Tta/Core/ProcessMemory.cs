using System.Globalization;

namespace Tta.Core;

/// <summary>
/// This process's resident memory from /proc/self/status (Linux): <c>VmRSS</c> now and <c>VmHWM</c>, its peak.
/// With <c>TTA_PEAK_RSS_FILE</c> set, tta-cli writes its peak (bytes) to that file when it exits, so a parent process
/// (Bench, the tests) can measure a child's peak exactly.
/// </summary>
public static class ProcessMemory
{
    public const string PeakFileVariable = "TTA_PEAK_RSS_FILE";

    /// <summary>A field of /proc/self/status in bytes (0 where there is none).</summary>
    public static long Status(string field)
    {
        if (!File.Exists("/proc/self/status")) return 0;
        foreach (var line in File.ReadLines("/proc/self/status"))
            if (line.StartsWith(field + ":", StringComparison.Ordinal))
                return long.Parse(line[(field.Length + 1)..].Trim().Split(' ')[0], CultureInfo.InvariantCulture) * 1024;
        return 0;
    }

    public static long Resident => Status("VmRSS");

    public static long Peak => Status("VmHWM");

    /// <summary>Resets VmHWM to the current RSS (Linux: "5" to /proc/self/clear_refs); false where not allowed.</summary>
    public static bool ResetPeak()
    {
        try
        {
            File.WriteAllText("/proc/self/clear_refs", "5");
            return true;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return false;
        }
    }

    /// <summary>Writes the peak to the file <c>TTA_PEAK_RSS_FILE</c> names, if it names one.</summary>
    public static void ReportPeak()
    {
        if (Environment.GetEnvironmentVariable(PeakFileVariable) is { Length: > 0 } path)
            File.WriteAllText(path, Peak.ToString(CultureInfo.InvariantCulture));
    }
}
