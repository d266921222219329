namespace Tta.Build;

/// <summary>
/// One option of ./build.sh: its name (without <c>--</c>), whether it takes a value, what it does, the targets it
/// applies to (null: every target), so an option given to a target that ignores it is an error, and whether Cake
/// passes it on to the tta-cli verbs that read experiments (<see cref="BuildScript.ForwardedArgs"/>).
/// </summary>
/// <param name="Repeatable">every value given is passed on (else the last).</param>
public sealed record KnownOption(string Name, bool TakesValue, string Help, string[]? Targets = null, bool Forwarded = false, bool Repeatable = false);
