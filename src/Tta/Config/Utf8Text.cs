using System.Text;

namespace Tta.Config;

/// <summary>Experiment and text files are strict UTF-8: a bad byte is an error that says where, never a '�'.</summary>
public static class Utf8Text
{
    /// <summary>Reads a file as strict UTF-8 (BOM dropped), normalising CRLF to LF.</summary>
    public static string Read(string path)
    {
        var bytes = File.ReadAllBytes(path);
        var start = bytes.Length >= 3 && bytes[0] == 0xEF && bytes[1] == 0xBB && bytes[2] == 0xBF ? 3 : 0;
        var enc = new UTF8Encoding(encoderShouldEmitUTF8Identifier: false, throwOnInvalidBytes: true);
        try
        {
            return enc.GetString(bytes, start, bytes.Length - start).Replace("\r\n", "\n");
        }
        catch (DecoderFallbackException ex)
        {
            var index = Math.Clamp(start + Math.Max(ex.Index, 0), 0, bytes.Length);
            int line = 1, col = 1;
            for (var k = start; k < index; k++)
            {
                if (bytes[k] == (byte)'\n') { line++; col = 1; }
                else if ((bytes[k] & 0xC0) != 0x80) col++;
            }
            throw new InvalidUtf8Exception(line, col);
        }
    }
}
