using System.Reflection;
using System.Runtime.InteropServices;

/// <summary>
/// Ends tta-cli without libtorch's exit-time destructors, which deregister every operator one by one: 0.12–0.18 s at
/// the end of every process that had loaded libtorch, on a run of about 2.5 s (measured with perf; the .NET runtime's
/// own shutdown is quick). The last <see cref="AppDomain.ProcessExit"/> handler, registered when the verb has returned,
/// flushes the console and calls <c>_exit</c>: every output file is closed and synced by then, and the handlers
/// registered before it (startup hooks, diagnostics) have run. Linux only: elsewhere the process ends normally.
/// </summary>
internal static class QuickExit
{
    public static int After(int exitCode)
    {
        if (!OperatingSystem.IsLinux()) return exitCode;
        // Bind _exit now: the handler should not have to resolve a P/Invoke while the runtime shuts down.
        Marshal.Prelink(typeof(QuickExit).GetMethod(nameof(Exit), BindingFlags.NonPublic | BindingFlags.Static)!);
        AppDomain.CurrentDomain.ProcessExit += (_, _) =>
        {
            Console.Out.Flush();
            Console.Error.Flush();
            Exit(exitCode);
        };
        return exitCode;
    }

    [DllImport("libc", EntryPoint = "_exit")]
    private static extern void Exit(int status);
}
