using static TorchSharp.torch;

namespace Tta.Execution;

/// <summary>
/// libtorch's intra-op threads for this process. Never fewer than 2: libtorch's single-threaded kernels round
/// differently from its multi-threaded ones (activations differ in the last bits), while 2, 4 and 8 threads give
/// identical bytes, so outputs do not depend on <c>--jobs</c>, the executor or the machine's core count.
/// </summary>
public static class TorchThreads
{
    private static int configured;

    public static int For(int jobs) => Math.Max(2, Environment.ProcessorCount / Math.Max(1, jobs));

    /// <summary>Sets the thread count once per process, before the first unit that uses libtorch.</summary>
    public static void Configure(int jobs)
    {
        if (Interlocked.Exchange(ref configured, 1) == 1) return;
        set_num_threads(For(jobs));
    }
}
