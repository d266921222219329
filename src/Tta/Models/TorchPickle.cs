using System.Text;
using static TorchSharp.torch;

namespace Tta.Models;

/// <summary>A <c>collections.OrderedDict</c> (or plain dict) from a pickle, in insertion order.</summary>
public sealed class PickleDict
{
    public List<KeyValuePair<object?, object?>> Items { get; } = [];

    public void Set(object? key, object? value)
    {
        var i = Items.FindIndex(kv => Equals(kv.Key, key));
        if (i >= 0) Items[i] = new(key, value);
        else Items.Add(new(key, value));
    }
}

/// <summary>A <c>torch.*Storage</c> referenced by persistent id: element type, archive key, element count.</summary>
public sealed record PickleStorage(ScalarType DType, string Key, string Location, long ElementCount);

/// <summary>What <c>torch._utils._rebuild_tensor_v2</c> would build: a view of a storage.</summary>
public sealed record PickleTensor(PickleStorage Storage, long StorageOffset, long[] Shape, long[] Strides);

/// <summary>
/// A minimal, safe unpickler for the state dicts <c>torch.save</c> writes (protocols 2 to 4). It understands the data
/// opcodes and exactly these globals: <c>collections.OrderedDict</c>, <c>torch._utils._rebuild_tensor_v2</c>,
/// <c>torch._utils._rebuild_parameter</c> and the typed <c>torch.*Storage</c> classes. Any other global, and opcodes
/// that build arbitrary objects (INST, OBJ, NEWOBJ, EXT*), are refused: nothing from the file is ever executed.
/// </summary>
public sealed class TorchUnpickler
{
    private static readonly Dictionary<string, ScalarType> StorageTypes = new(StringComparer.Ordinal)
    {
        ["FloatStorage"] = ScalarType.Float32,
        ["DoubleStorage"] = ScalarType.Float64,
        ["HalfStorage"] = ScalarType.Float16,
        ["BFloat16Storage"] = ScalarType.BFloat16,
        ["LongStorage"] = ScalarType.Int64,
        ["IntStorage"] = ScalarType.Int32,
        ["ShortStorage"] = ScalarType.Int16,
        ["CharStorage"] = ScalarType.Int8,
        ["ByteStorage"] = ScalarType.Byte,
        ["BoolStorage"] = ScalarType.Bool,
    };

    private sealed record Global(string Module, string Name)
    {
        public override string ToString() => $"{Module}.{Name}";
    }

    private sealed class Mark;

    private readonly Stream input;
    private readonly string source;
    private readonly Func<object?[], object> persistentLoad;
    private readonly List<object?> stack = [];
    private readonly Dictionary<long, object?> memo = [];

    /// <param name="persistentLoad">maps a persistent id tuple to the object it stands for (a storage).</param>
    public TorchUnpickler(Stream input, string source, Func<object?[], object> persistentLoad)
    {
        this.input = input;
        this.source = source;
        this.persistentLoad = persistentLoad;
    }

    /// <summary>The storage a persistent id <c>('storage', torch.XStorage, key, location, numel, ...)</c> names.</summary>
    public static PickleStorage StorageFromPersistentId(object?[] pid, string source)
    {
        if (pid.Length < 5 || pid[0] is not string kind || kind != "storage" || pid[1] is not Global type
            || !StorageTypes.TryGetValue(type.Name, out var dtype) || pid[3] is not string location)
            throw new InvalidDataException($"{source}: unsupported persistent id ({string.Join(", ", pid.Select(Describe))})");
        var key = pid[2] switch
        {
            string s => s,
            long l => l.ToString(System.Globalization.CultureInfo.InvariantCulture),
            _ => throw new InvalidDataException($"{source}: storage key {Describe(pid[2])} is not a string"),
        };
        if (pid[4] is not long numel || numel < 0) throw new InvalidDataException($"{source}: storage '{key}' has no element count");
        return new PickleStorage(dtype, key, location, numel);
    }

    private static string Describe(object? o) => o switch
    {
        null => "None",
        string s => $"'{s}'",
        _ => o.ToString() ?? "?",
    };

    public object? Load()
    {
        var frameLimit = -1L;
        while (true)
        {
            var op = input.ReadByte();
            if (op < 0) throw Bad("ends before STOP");
            switch (op)
            {
                case 0x80: ReadByte(); break; // PROTO
                case 0x95: frameLimit = ReadInt64(); _ = frameLimit; break; // FRAME: only a length hint
                case '.': return Pop(); // STOP
                case '(': stack.Add(new Mark()); break; // MARK
                case '0': Pop(); break; // POP
                case '1': PopToMark(); break; // POP_MARK
                case '2': stack.Add(Peek()); break; // DUP
                case 'N': stack.Add(null); break;
                case 0x88: stack.Add(true); break;
                case 0x89: stack.Add(false); break;
                case 'J': stack.Add((long)ReadInt32()); break; // BININT
                case 'K': stack.Add((long)ReadByte()); break; // BININT1
                case 'M': stack.Add((long)(ReadByte() | (ReadByte() << 8))); break; // BININT2
                case 0x8a: stack.Add(ReadLong(ReadByte())); break; // LONG1 (a BigInteger beyond 64 bits)
                case 0x8b: stack.Add(ReadLong(ReadInt32())); break; // LONG4
                case 'G': // BINFLOAT (big-endian)
                    {
                        var b = ReadBytes(8);
                        Array.Reverse(b);
                        stack.Add(BitConverter.ToDouble(b));
                        break;
                    }
                case 'X': stack.Add(Encoding.UTF8.GetString(ReadBytes(ReadInt32()))); break; // BINUNICODE
                case 0x8c: stack.Add(Encoding.UTF8.GetString(ReadBytes(ReadByte()))); break; // SHORT_BINUNICODE
                case 0x8d: stack.Add(Encoding.UTF8.GetString(ReadBytes(checked((int)ReadInt64())))); break; // BINUNICODE8
                case 'T': stack.Add(Encoding.Latin1.GetString(ReadBytes(ReadInt32()))); break; // BINSTRING
                case 'U': stack.Add(Encoding.Latin1.GetString(ReadBytes(ReadByte()))); break; // SHORT_BINSTRING
                case 'B': stack.Add(ReadBytes(ReadInt32())); break; // BINBYTES
                case 'C': stack.Add(ReadBytes(ReadByte())); break; // SHORT_BINBYTES
                case ')': stack.Add(Array.Empty<object?>()); break; // EMPTY_TUPLE
                case 't': stack.Add(PopToMark().ToArray()); break; // TUPLE
                case 0x85: stack.Add(new[] { Pop() }); break; // TUPLE1
                case 0x86: { var b = Pop(); var a = Pop(); stack.Add(new[] { a, b }); break; } // TUPLE2
                case 0x87: { var c = Pop(); var b = Pop(); var a = Pop(); stack.Add(new[] { a, b, c }); break; } // TUPLE3
                case ']': stack.Add(new List<object?>()); break; // EMPTY_LIST
                case 'l': stack.Add(PopToMark()); break; // LIST
                case 'a': { var v = Pop(); AsList(Peek()).Add(v); break; } // APPEND
                case 'e': { var items = PopToMark(); AsList(Peek()).AddRange(items); break; } // APPENDS
                case '}': stack.Add(new PickleDict()); break; // EMPTY_DICT
                case 'd': // DICT
                    {
                        var items = PopToMark();
                        var d = new PickleDict();
                        for (var i = 0; i + 1 < items.Count; i += 2) d.Set(items[i], items[i + 1]);
                        stack.Add(d);
                        break;
                    }
                case 's': { var v = Pop(); var k = Pop(); AsDict(Peek()).Set(k, v); break; } // SETITEM
                case 'u': // SETITEMS
                    {
                        var items = PopToMark();
                        var d = AsDict(Peek());
                        for (var i = 0; i + 1 < items.Count; i += 2) d.Set(items[i], items[i + 1]);
                        break;
                    }
                case 'q': memo[ReadByte()] = Peek(); break; // BINPUT
                case 'r': memo[(uint)ReadInt32()] = Peek(); break; // LONG_BINPUT
                case 0x94: memo[memo.Count] = Peek(); break; // MEMOIZE
                case 'h': stack.Add(Get(ReadByte())); break; // BINGET
                case 'j': stack.Add(Get((uint)ReadInt32())); break; // LONG_BINGET
                case 'c': stack.Add(CheckGlobal(ReadLine(), ReadLine())); break; // GLOBAL
                case 0x93: // STACK_GLOBAL
                    {
                        var name = Pop() as string ?? throw Bad("STACK_GLOBAL name is not a string");
                        var module = Pop() as string ?? throw Bad("STACK_GLOBAL module is not a string");
                        stack.Add(CheckGlobal(module, name));
                        break;
                    }
                case 'Q': // BINPERSID
                    {
                        var pid = Pop() as object?[] ?? throw Bad("persistent id is not a tuple");
                        stack.Add(persistentLoad(pid));
                        break;
                    }
                case 'R': // REDUCE
                    {
                        var args = Pop() as object?[] ?? throw Bad("REDUCE arguments are not a tuple");
                        var func = Pop() as Global ?? throw Bad("REDUCE of something that is not an allowed global");
                        stack.Add(Reduce(func, args));
                        break;
                    }
                case 'b': // BUILD: state for an OrderedDict (the state dict's _metadata) or a tensor; ignored
                    {
                        var state = Pop();
                        var target = Peek();
                        if (target is not (PickleDict or PickleTensor))
                            throw Bad($"BUILD on {Describe(target)} is not supported");
                        _ = state;
                        break;
                    }
                default:
                    throw Bad($"opcode 0x{op:x2} ('{(char)op}') is not supported by this state-dict reader");
            }
        }
    }

    private Global CheckGlobal(string module, string name)
    {
        var ok = (module, name) switch
        {
            ("collections", "OrderedDict") => true,
            ("torch._utils", "_rebuild_tensor_v2" or "_rebuild_parameter") => true,
            ("torch", _) => StorageTypes.ContainsKey(name),
            _ => false,
        };
        if (!ok)
            throw new InvalidDataException($"{source}: the pickle refers to '{module}.{name}'; only tensors of a state dict " +
                                           "(OrderedDict, _rebuild_tensor_v2, torch.*Storage) are read, nothing is executed");
        return new Global(module, name);
    }

    private object Reduce(Global func, object?[] args)
    {
        switch (func.Module, func.Name)
        {
            case ("collections", "OrderedDict"):
                {
                    var d = new PickleDict();
                    if (args.Length > 0 && args[0] is List<object?> pairs)
                        foreach (var p in pairs)
                            if (p is object?[] { Length: 2 } kv) d.Set(kv[0], kv[1]);
                    return d;
                }
            case ("torch._utils", "_rebuild_tensor_v2"):
                {
                    if (args.Length < 4 || args[0] is not PickleStorage storage || args[1] is not long offset)
                        throw Bad("_rebuild_tensor_v2 arguments are not (storage, offset, size, stride, ...)");
                    return new PickleTensor(storage, offset, Longs(args[2], "size"), Longs(args[3], "stride"));
                }
            case ("torch._utils", "_rebuild_parameter"):
                return args.Length >= 1 && args[0] is PickleTensor t ? t : throw Bad("_rebuild_parameter of something that is not a tensor");
            default:
                throw Bad($"{func} cannot be called");
        }
    }

    private long[] Longs(object? o, string what) => o is object?[] items && items.All(i => i is long)
        ? items.Select(i => (long)i!).ToArray()
        : throw Bad($"tensor {what} is not a tuple of integers");

    private object? Get(long key) => memo.TryGetValue(key, out var v) ? v : throw Bad($"memo key {key} is unset");

    private static List<object?> AsList(object? o) => o as List<object?> ?? throw new InvalidDataException("pickle: APPEND to something that is not a list");

    private static PickleDict AsDict(object? o) => o as PickleDict ?? throw new InvalidDataException("pickle: SETITEM on something that is not a dict");

    private object? Pop()
    {
        if (stack.Count == 0 || stack[^1] is Mark) throw Bad("stack underflow");
        var v = stack[^1];
        stack.RemoveAt(stack.Count - 1);
        return v;
    }

    private object? Peek() => stack.Count > 0 && stack[^1] is not Mark ? stack[^1] : throw Bad("stack underflow");

    private List<object?> PopToMark()
    {
        var i = stack.FindLastIndex(x => x is Mark);
        if (i < 0) throw Bad("no MARK on the stack");
        var items = stack.GetRange(i + 1, stack.Count - i - 1);
        stack.RemoveRange(i, stack.Count - i);
        return items;
    }

    private int ReadByte() => input.ReadByte() is var b and >= 0 ? b : throw Bad("ends early");

    private byte[] ReadBytes(int n)
    {
        if (n < 0) throw Bad("negative length");
        var b = new byte[n];
        input.ReadExactly(b);
        return b;
    }

    private int ReadInt32() => BitConverter.ToInt32(ReadBytes(4));

    private long ReadInt64() => BitConverter.ToInt64(ReadBytes(8));

    private object ReadLong(int n)
    {
        if (n == 0) return 0L;
        if (n > 8) return n > 1024 ? throw Bad("integer too long") : new System.Numerics.BigInteger(ReadBytes(n), isUnsigned: false, isBigEndian: false);
        var b = ReadBytes(n);
        long v = 0;
        for (var i = n - 1; i >= 0; i--) v = (v << 8) | b[i];
        if (n < 8 && (b[n - 1] & 0x80) != 0) v -= 1L << (8 * n); // two's complement
        return v;
    }

    private string ReadLine()
    {
        var sb = new StringBuilder();
        while (ReadByte() is var c && c != '\n') sb.Append((char)c);
        return sb.ToString();
    }

    private InvalidDataException Bad(string what) => new($"{source}: pickle {what}");
}
