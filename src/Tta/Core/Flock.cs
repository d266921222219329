using System.Runtime.InteropServices;
using Microsoft.Win32.SafeHandles;

namespace Tta.Core;

/// <summary>
/// flock(2) on lock files opened with open(2): advisory locks the kernel drops when the holder dies, shared or
/// exclusive, and per open file description, so two threads of one process that open a lock file separately exclude
/// each other as two processes do. Used by <see cref="RunLock"/> and <see cref="UnitLock"/>.
/// </summary>
internal static partial class Flock
{
    private const int LockSh = 1, LockEx = 2, LockNb = 4;
    private const int Eintr = 4, Ewouldblock = 11;

    /// <summary>
    /// Opens the lock file with open(2) itself: .NET's FileStream takes an flock of its own on open (LOCK_SH for
    /// read-write sharing), which would fail, or interfere, while another process holds ours.
    /// </summary>
    public static SafeFileHandle Open(string path)
    {
        const int ReadWrite = 2, Create = 0x40, CloseOnExec = 0x80000;
        int fd;
        do fd = OpenFile(path, ReadWrite | Create | CloseOnExec, Convert.ToInt32("644", 8));
        while (fd < 0 && Marshal.GetLastPInvokeError() == Eintr);
        if (fd < 0) throw new IOException($"cannot open the lock file {path} (errno {Marshal.GetLastPInvokeError()})");
        return new SafeFileHandle(fd, ownsHandle: true);
    }

    public static bool TryLock(SafeFileHandle s, string path, LockMode mode)
    {
        var fd = (int)s.DangerousGetHandle();
        var operation = (mode == LockMode.Exclusive ? LockEx : LockSh) | LockNb;
        while (true)
        {
            if (FlockCall(fd, operation) == 0) return true;
            var errno = Marshal.GetLastPInvokeError();
            if (errno == Eintr) continue;
            if (errno == Ewouldblock) return false;
            throw new IOException($"flock on {path} failed (errno {errno})");
        }
    }

    [LibraryImport("libc", EntryPoint = "flock", SetLastError = true)]
    private static partial int FlockCall(int fd, int operation);

    [LibraryImport("libc", EntryPoint = "open", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    private static partial int OpenFile(string path, int flags, int mode);
}
