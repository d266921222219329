namespace Tta.Core;

/// <summary>
/// Shows the running units' progress (<see cref="IUnitProgress.Describe"/>) and carries the run's log lines around
/// it. Lower layers only carry a display; the implementation lives with the executors.
/// </summary>
public interface IProgressDisplay : IDisposable
{
    /// <summary>Where the run's log lines go so that they do not mix with the display.</summary>
    TextWriter Log { get; }

    void Started(IUnitProgress unit);

    void Finished(IUnitProgress unit);
}
