namespace Tta.Core;

/// <summary>
/// What one running unit reports from deep in its work (bytes loaded, steps of a phase such as layers or figures).
/// It reaches the code that reports through <c>RunContext.UnitProgress</c> or a parameter, never ambiently; the
/// executor's implementation shows it. Implementations are thread-safe: figures report from several threads.
/// </summary>
public interface IUnitProgress
{
    /// <summary>Starts a phase with <paramref name="steps"/> steps (0 when not counted).</summary>
    void Phase(string name, int steps = 0);

    /// <summary>Loading begins: <paramref name="total"/> bytes to read.</summary>
    void LoadingBytes(long total);

    void Loaded(long bytes);

    /// <summary>One more step of the phase is done (from any thread).</summary>
    void StepDone();

    /// <summary>One line for a display, e.g. <c>Extract x/m/t: layer 3/12, 4.2 s, about 12 s left</c>.</summary>
    string Describe();
}
