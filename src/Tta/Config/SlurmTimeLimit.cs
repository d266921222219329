using System.Globalization;
using System.Text.RegularExpressions;

namespace Tta.Config;

/// <summary>Slurm's time limit formats (sbatch --time), read into a TimeSpan and written back for sbatch.</summary>
public static partial class SlurmTimeLimit
{
    private const string Formats = "minutes, minutes:seconds, hours:minutes:seconds, days-hours, days-hours:minutes " +
        "or days-hours:minutes:seconds";

    /// <summary>
    /// Reads "90", "90:30", "2:00:00", "1-12", "1-12:30" or "1-12:30:00". <paramref name="where"/> names the setting
    /// in error messages (an option or a file:line key).
    /// </summary>
    public static TimeSpan Parse(string text, string where)
    {
        var m = Pattern().Match(text.Trim());
        if (!m.Success)
            throw new FormatException($"{where}: time limit '{text}' is not one of Slurm's formats ({Formats}); " +
                "for example 2:00:00 for two hours, or leave it out for the partition's default");
        long Group(string name) => m.Groups[name].Success ? long.Parse(m.Groups[name].Value, CultureInfo.InvariantCulture) : 0;
        TimeSpan limit;
        if (m.Groups["days"].Success)
            limit = new TimeSpan((int)Group("days"), (int)Group("dh"), (int)Group("dm"), (int)Group("ds"));
        else if (m.Groups["h"].Success)
            limit = new TimeSpan((int)Group("h"), (int)Group("m3"), (int)Group("s3"));
        else
            limit = TimeSpan.FromMinutes(Group("m")) + TimeSpan.FromSeconds(Group("s"));
        if (limit <= TimeSpan.Zero)
            throw new FormatException($"{where}: time limit '{text}' must be longer than zero");
        return limit;
    }

    /// <summary>
    /// days-hours:minutes, the form sbatch accepts for any length. Slurm keeps time limits in whole minutes, so
    /// seconds round up (90 s is 2 minutes).
    /// </summary>
    public static string Format(TimeSpan limit)
    {
        if (limit <= TimeSpan.Zero)
            throw new ArgumentOutOfRangeException(nameof(limit), limit, "a time limit must be longer than zero");
        var minutes = (long)Math.Ceiling(limit.TotalMinutes);
        return string.Create(CultureInfo.InvariantCulture, $"{minutes / 1440}-{minutes / 60 % 24:00}:{minutes % 60:00}");
    }

    [GeneratedRegex(@"^(?:(?<days>\d{1,4})-(?<dh>\d{1,2})(?::(?<dm>\d{1,2})(?::(?<ds>\d{1,2}))?)?|(?<h>\d{1,5}):(?<m3>\d{1,2}):(?<s3>\d{1,2})|(?<m>\d{1,7})(?::(?<s>\d{1,2}))?)$")]
    private static partial Regex Pattern();
}
