namespace Tta.Config;

/// <summary>Where an option is accepted: by ./build.sh (Cake), by tta-cli, or by both.</summary>
[Flags]
public enum OptionScope
{
    Build = 1,
    Cli = 2,
    Both = Build | Cli,
}
