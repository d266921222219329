namespace Tta.Config;

/// <summary>
/// One option: its name (without <c>--</c>), whether it takes a value, where it is accepted, what it does, and the
/// ./build.sh targets it applies to (null: every target), so an option given to a target that ignores it is an error.
/// </summary>
public sealed record KnownOption(string Name, bool TakesValue, OptionScope Scope, string Help, string[]? Targets = null);
