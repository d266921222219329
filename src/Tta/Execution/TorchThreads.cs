using static TorchSharp.torch;

namespace Tta.Execution;

/// <summary>
/// libtorch's intra-op threads for this process: every core, and never fewer than 2. libtorch's single-threaded
/// kernels round differently from its multi-threaded ones (activations differ in the last bits), while 2, 4 and 8
/// threads give identical bytes, so outputs do not depend on <c>--jobs</c>, the executor or the machine's core count
/// (see <see cref="Cache.UnitResources.Torch"/>).
/// </summary>
public static class TorchThreads
{
    // libtorch's thread count is its own process-wide setting: set once, and every caller waits until it is.
    private static readonly Lazy<int> Configured = new(() =>
    {
        set_num_threads(Count);
        return Count;
    }, LazyThreadSafetyMode.ExecutionAndPublication);

    public static int Count => Math.Max(2, Environment.ProcessorCount);

    /// <summary>Sets the thread count once per process, before the first unit runs.</summary>
    public static void Configure() => _ = Configured.Value;
}
