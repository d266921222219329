using ScottPlot;

namespace Tta.Figures;

/// <summary>
/// A colormap defined by a lookup table of evenly spaced colours. Position p in [0, 1] selects entry
/// floor(p * N), with p = 1 mapping to the last entry (the same convention as matplotlib's ListedColormap),
/// so an N-entry table reproduces the published colours exactly.
/// </summary>
public sealed class LutColormap : IColormap
{
    private readonly Color[] _lut;

    public LutColormap(string name, IReadOnlyList<Color> colors)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(name);
        if (colors.Count < 2)
            throw new ArgumentException("a colormap needs at least two colours", nameof(colors));
        Name = name;
        _lut = [.. colors];
    }

    public string Name { get; }

    public int Count => _lut.Length;

    public Color this[int index] => _lut[index];

    public Color GetColor(double position)
    {
        if (double.IsNaN(position))
            return Colors.Transparent;
        var index = position <= 0 ? 0 : position >= 1 ? _lut.Length - 1 : (int)(position * _lut.Length);
        return _lut[Math.Min(index, _lut.Length - 1)];
    }

    /// <summary>The same table in the opposite order.</summary>
    public LutColormap Reversed(string name) => new(name, [.. _lut.Reverse()]);

    /// <summary>Builds a table from RGB triples in [0, 1], rounded to the nearest 8-bit value.</summary>
    public static LutColormap FromRgb(string name, ReadOnlySpan<float> rgb)
    {
        if (rgb.Length % 3 != 0)
            throw new ArgumentException("RGB data must hold whole triples", nameof(rgb));
        var colors = new Color[rgb.Length / 3];
        for (var i = 0; i < colors.Length; i++)
            colors[i] = new Color(ToByte(rgb[3 * i]), ToByte(rgb[3 * i + 1]), ToByte(rgb[3 * i + 2]));
        return new LutColormap(name, colors);
    }

    private static byte ToByte(float v) => (byte)Math.Clamp(MathF.Round(v * 255f, MidpointRounding.AwayFromZero), 0f, 255f);
}

/// <summary>Wraps another colormap under a different name, optionally reading it backwards.</summary>
public sealed class NamedColormap(string name, IColormap inner, bool reversed = false) : IColormap
{
    public string Name { get; } = name;

    public IColormap Inner { get; } = inner;

    public bool IsReversed { get; } = reversed;

    public Color GetColor(double position)
    {
        if (double.IsNaN(position))
            return Colors.Transparent;
        var p = Math.Clamp(position, 0.0, 1.0);
        return Inner.GetColor(IsReversed ? 1.0 - p : p);
    }
}

/// <summary>
/// Colormaps by matplotlib-style name. Every map also has a reversed variant with the suffix <c>_r</c>.
/// cividis (Nuñez, Anderton &amp; Renslow 2018, PLoS ONE 13(7): e0199239) is not part of ScottPlot, so its
/// 256-entry table is held here; the others come from ScottPlot.
/// </summary>
public static class Colormaps
{
    /// <summary>The colormap the paper's heatmaps use.</summary>
    public const string Default = "cividis_r";

    private static readonly Lazy<IReadOnlyDictionary<string, IColormap>> ByName = new(Build);

    /// <summary>All names <see cref="Get"/> accepts, sorted.</summary>
    public static IReadOnlyList<string> Names => [.. ByName.Value.Keys.Order(StringComparer.Ordinal)];

    public static LutColormap Cividis { get; } = LutColormap.FromRgb("cividis", CividisRgb);

    public static LutColormap CividisReversed { get; } = Cividis.Reversed("cividis_r");

    /// <summary>Looks a colormap up by name (case-insensitive), e.g. <c>cividis_r</c>, <c>viridis</c>, <c>gray</c>.</summary>
    public static IColormap Get(string name)
    {
        ArgumentNullException.ThrowIfNull(name);
        if (ByName.Value.TryGetValue(name.Trim(), out var map))
            return map;
        throw new ArgumentException($"unknown colormap '{name}'; known colormaps: {string.Join(", ", Names)}", nameof(name));
    }

    private static IReadOnlyDictionary<string, IColormap> Build()
    {
        var maps = new Dictionary<string, IColormap>(StringComparer.OrdinalIgnoreCase)
        {
            ["cividis"] = Cividis,
            ["cividis_r"] = CividisReversed,
        };
        void Add(string name, IColormap map)
        {
            maps[name] = new NamedColormap(name, map);
            maps[name + "_r"] = new NamedColormap(name + "_r", map, reversed: true);
        }
        Add("viridis", new ScottPlot.Colormaps.Viridis());
        Add("magma", new ScottPlot.Colormaps.Magma());
        Add("inferno", new ScottPlot.Colormaps.Inferno());
        Add("plasma", new ScottPlot.Colormaps.Plasma());
        Add("turbo", new ScottPlot.Colormaps.Turbo());
        Add("jet", new ScottPlot.Colormaps.Jet());
        Add("gray", new ScottPlot.Colormaps.Grayscale());
        Add("blues", new ScottPlot.Colormaps.Blues());
        Add("greens", new ScottPlot.Colormaps.Greens());
        return maps;
    }

    /// <summary>
    /// cividis: 256 RGB triples in [0, 1], entry 0 (dark blue, #00224E) to entry 255 (yellow, #FEE838), as published
    /// with the colormap and distributed by matplotlib.
    /// </summary>
    public static ReadOnlySpan<float> CividisRgb =>
    [
        0.000000f, 0.135112f, 0.304751f, // 0
        0.000000f, 0.138068f, 0.311105f, // 1
        0.000000f, 0.141013f, 0.317579f, // 2
        0.000000f, 0.143951f, 0.323982f, // 3
        0.000000f, 0.146877f, 0.330479f, // 4
        0.000000f, 0.149791f, 0.337065f, // 5
        0.000000f, 0.152673f, 0.343704f, // 6
        0.000000f, 0.155377f, 0.350500f, // 7
        0.000000f, 0.157932f, 0.357521f, // 8
        0.000000f, 0.160495f, 0.364534f, // 9
        0.000000f, 0.163058f, 0.371608f, // 10
        0.000000f, 0.165621f, 0.378769f, // 11
        0.000000f, 0.168204f, 0.385902f, // 12
        0.000000f, 0.170800f, 0.393100f, // 13
        0.000000f, 0.173420f, 0.400353f, // 14
        0.000000f, 0.176082f, 0.407577f, // 15
        0.000000f, 0.178802f, 0.414764f, // 16
        0.000000f, 0.181610f, 0.421859f, // 17
        0.000000f, 0.184550f, 0.428802f, // 18
        0.000000f, 0.186915f, 0.435532f, // 19
        0.000000f, 0.188769f, 0.439563f, // 20
        0.000000f, 0.190950f, 0.441085f, // 21
        0.000000f, 0.193366f, 0.441561f, // 22
        0.003602f, 0.195911f, 0.441564f, // 23
        0.017852f, 0.198528f, 0.441248f, // 24
        0.032110f, 0.201199f, 0.440785f, // 25
        0.046205f, 0.203903f, 0.440196f, // 26
        0.058378f, 0.206629f, 0.439531f, // 27
        0.068968f, 0.209372f, 0.438863f, // 28
        0.078624f, 0.212122f, 0.438105f, // 29
        0.087465f, 0.214879f, 0.437342f, // 30
        0.095645f, 0.217643f, 0.436593f, // 31
        0.103401f, 0.220406f, 0.435790f, // 32
        0.110658f, 0.223170f, 0.435067f, // 33
        0.117612f, 0.225935f, 0.434308f, // 34
        0.124291f, 0.228697f, 0.433547f, // 35
        0.130669f, 0.231458f, 0.432840f, // 36
        0.136830f, 0.234216f, 0.432148f, // 37
        0.142852f, 0.236972f, 0.431404f, // 38
        0.148638f, 0.239724f, 0.430752f, // 39
        0.154261f, 0.242475f, 0.430120f, // 40
        0.159733f, 0.245221f, 0.429528f, // 41
        0.165113f, 0.247965f, 0.428908f, // 42
        0.170362f, 0.250707f, 0.428325f, // 43
        0.175490f, 0.253444f, 0.427790f, // 44
        0.180503f, 0.256180f, 0.427299f, // 45
        0.185453f, 0.258914f, 0.426788f, // 46
        0.190303f, 0.261644f, 0.426329f, // 47
        0.195057f, 0.264372f, 0.425924f, // 48
        0.199764f, 0.267099f, 0.425497f, // 49
        0.204385f, 0.269823f, 0.425126f, // 50
        0.208926f, 0.272546f, 0.424809f, // 51
        0.213431f, 0.275266f, 0.424480f, // 52
        0.217863f, 0.277985f, 0.424206f, // 53
        0.222264f, 0.280702f, 0.423914f, // 54
        0.226598f, 0.283419f, 0.423678f, // 55
        0.230871f, 0.286134f, 0.423498f, // 56
        0.235120f, 0.288848f, 0.423304f, // 57
        0.239312f, 0.291562f, 0.423167f, // 58
        0.243485f, 0.294274f, 0.423014f, // 59
        0.247605f, 0.296986f, 0.422917f, // 60
        0.251675f, 0.299698f, 0.422873f, // 61
        0.255731f, 0.302409f, 0.422814f, // 62
        0.259740f, 0.305120f, 0.422810f, // 63
        0.263738f, 0.307831f, 0.422789f, // 64
        0.267693f, 0.310542f, 0.422821f, // 65
        0.271639f, 0.313253f, 0.422837f, // 66
        0.275513f, 0.315965f, 0.422979f, // 67
        0.279411f, 0.318677f, 0.423031f, // 68
        0.283240f, 0.321390f, 0.423211f, // 69
        0.287065f, 0.324103f, 0.423373f, // 70
        0.290884f, 0.326816f, 0.423517f, // 71
        0.294669f, 0.329531f, 0.423716f, // 72
        0.298421f, 0.332247f, 0.423973f, // 73
        0.302169f, 0.334963f, 0.424213f, // 74
        0.305886f, 0.337681f, 0.424512f, // 75
        0.309601f, 0.340399f, 0.424790f, // 76
        0.313287f, 0.343120f, 0.425120f, // 77
        0.316941f, 0.345842f, 0.425512f, // 78
        0.320595f, 0.348565f, 0.425889f, // 79
        0.324250f, 0.351289f, 0.426250f, // 80
        0.327875f, 0.354016f, 0.426670f, // 81
        0.331474f, 0.356744f, 0.427144f, // 82
        0.335073f, 0.359474f, 0.427605f, // 83
        0.338673f, 0.362206f, 0.428053f, // 84
        0.342246f, 0.364939f, 0.428559f, // 85
        0.345793f, 0.367676f, 0.429127f, // 86
        0.349341f, 0.370414f, 0.429685f, // 87
        0.352892f, 0.373153f, 0.430226f, // 88
        0.356418f, 0.375896f, 0.430823f, // 89
        0.359916f, 0.378641f, 0.431501f, // 90
        0.363446f, 0.381388f, 0.432075f, // 91
        0.366923f, 0.384139f, 0.432796f, // 92
        0.370430f, 0.386890f, 0.433428f, // 93
        0.373884f, 0.389646f, 0.434209f, // 94
        0.377371f, 0.392404f, 0.434890f, // 95
        0.380830f, 0.395164f, 0.435653f, // 96
        0.384268f, 0.397928f, 0.436475f, // 97
        0.387705f, 0.400694f, 0.437305f, // 98
        0.391151f, 0.403464f, 0.438096f, // 99
        0.394568f, 0.406236f, 0.438986f, // 100
        0.397991f, 0.409011f, 0.439848f, // 101
        0.401418f, 0.411790f, 0.440708f, // 102
        0.404820f, 0.414572f, 0.441642f, // 103
        0.408226f, 0.417357f, 0.442570f, // 104
        0.411607f, 0.420145f, 0.443577f, // 105
        0.414992f, 0.422937f, 0.444578f, // 106
        0.418383f, 0.425733f, 0.445560f, // 107
        0.421748f, 0.428531f, 0.446640f, // 108
        0.425120f, 0.431334f, 0.447692f, // 109
        0.428462f, 0.434140f, 0.448864f, // 110
        0.431817f, 0.436950f, 0.449982f, // 111
        0.435168f, 0.439763f, 0.451134f, // 112
        0.438504f, 0.442580f, 0.452341f, // 113
        0.441810f, 0.445402f, 0.453659f, // 114
        0.445148f, 0.448226f, 0.454885f, // 115
        0.448447f, 0.451053f, 0.456264f, // 116
        0.451759f, 0.453887f, 0.457582f, // 117
        0.455072f, 0.456718f, 0.458976f, // 118
        0.458366f, 0.459552f, 0.460457f, // 119
        0.461616f, 0.462405f, 0.461969f, // 120
        0.464947f, 0.465241f, 0.463395f, // 121
        0.468254f, 0.468083f, 0.464908f, // 122
        0.471501f, 0.470960f, 0.466357f, // 123
        0.474812f, 0.473832f, 0.467681f, // 124
        0.478186f, 0.476699f, 0.468845f, // 125
        0.481622f, 0.479573f, 0.469767f, // 126
        0.485141f, 0.482451f, 0.470384f, // 127
        0.488697f, 0.485318f, 0.471008f, // 128
        0.492278f, 0.488198f, 0.471453f, // 129
        0.495913f, 0.491076f, 0.471751f, // 130
        0.499552f, 0.493960f, 0.472032f, // 131
        0.503185f, 0.496851f, 0.472305f, // 132
        0.506866f, 0.499743f, 0.472432f, // 133
        0.510540f, 0.502643f, 0.472550f, // 134
        0.514226f, 0.505546f, 0.472640f, // 135
        0.517920f, 0.508454f, 0.472707f, // 136
        0.521643f, 0.511367f, 0.472639f, // 137
        0.525348f, 0.514285f, 0.472660f, // 138
        0.529086f, 0.517207f, 0.472543f, // 139
        0.532829f, 0.520135f, 0.472401f, // 140
        0.536553f, 0.523067f, 0.472352f, // 141
        0.540307f, 0.526005f, 0.472163f, // 142
        0.544069f, 0.528948f, 0.471947f, // 143
        0.547840f, 0.531895f, 0.471704f, // 144
        0.551612f, 0.534849f, 0.471439f, // 145
        0.555393f, 0.537807f, 0.471147f, // 146
        0.559181f, 0.540771f, 0.470829f, // 147
        0.562972f, 0.543741f, 0.470488f, // 148
        0.566802f, 0.546715f, 0.469988f, // 149
        0.570607f, 0.549695f, 0.469593f, // 150
        0.574417f, 0.552682f, 0.469172f, // 151
        0.578236f, 0.555673f, 0.468724f, // 152
        0.582087f, 0.558670f, 0.468118f, // 153
        0.585916f, 0.561674f, 0.467618f, // 154
        0.589753f, 0.564682f, 0.467090f, // 155
        0.593622f, 0.567697f, 0.466401f, // 156
        0.597469f, 0.570718f, 0.465821f, // 157
        0.601354f, 0.573743f, 0.465074f, // 158
        0.605211f, 0.576777f, 0.464441f, // 159
        0.609105f, 0.579816f, 0.463638f, // 160
        0.612977f, 0.582861f, 0.462950f, // 161
        0.616852f, 0.585913f, 0.462237f, // 162
        0.620765f, 0.588970f, 0.461351f, // 163
        0.624654f, 0.592034f, 0.460583f, // 164
        0.628576f, 0.595104f, 0.459641f, // 165
        0.632506f, 0.598180f, 0.458668f, // 166
        0.636412f, 0.601264f, 0.457818f, // 167
        0.640352f, 0.604354f, 0.456791f, // 168
        0.644270f, 0.607450f, 0.455886f, // 169
        0.648222f, 0.610553f, 0.454801f, // 170
        0.652178f, 0.613664f, 0.453689f, // 171
        0.656114f, 0.616780f, 0.452702f, // 172
        0.660082f, 0.619904f, 0.451534f, // 173
        0.664055f, 0.623034f, 0.450338f, // 174
        0.668008f, 0.626171f, 0.449270f, // 175
        0.671991f, 0.629316f, 0.448018f, // 176
        0.675981f, 0.632468f, 0.446736f, // 177
        0.679979f, 0.635626f, 0.445424f, // 178
        0.683950f, 0.638793f, 0.444251f, // 179
        0.687957f, 0.641966f, 0.442886f, // 180
        0.691971f, 0.645145f, 0.441491f, // 181
        0.695985f, 0.648334f, 0.440072f, // 182
        0.700008f, 0.651529f, 0.438624f, // 183
        0.704037f, 0.654731f, 0.437147f, // 184
        0.708067f, 0.657942f, 0.435647f, // 185
        0.712105f, 0.661160f, 0.434117f, // 186
        0.716177f, 0.664384f, 0.432386f, // 187
        0.720222f, 0.667618f, 0.430805f, // 188
        0.724274f, 0.670859f, 0.429194f, // 189
        0.728334f, 0.674107f, 0.427554f, // 190
        0.732422f, 0.677364f, 0.425717f, // 191
        0.736488f, 0.680629f, 0.424028f, // 192
        0.740589f, 0.683900f, 0.422131f, // 193
        0.744664f, 0.687181f, 0.420393f, // 194
        0.748772f, 0.690470f, 0.418448f, // 195
        0.752886f, 0.693766f, 0.416472f, // 196
        0.756975f, 0.697071f, 0.414659f, // 197
        0.761096f, 0.700384f, 0.412638f, // 198
        0.765223f, 0.703705f, 0.410587f, // 199
        0.769353f, 0.707035f, 0.408516f, // 200
        0.773486f, 0.710373f, 0.406422f, // 201
        0.777651f, 0.713719f, 0.404112f, // 202
        0.781795f, 0.717074f, 0.401966f, // 203
        0.785965f, 0.720438f, 0.399613f, // 204
        0.790116f, 0.723810f, 0.397423f, // 205
        0.794298f, 0.727190f, 0.395016f, // 206
        0.798480f, 0.730580f, 0.392597f, // 207
        0.802667f, 0.733978f, 0.390153f, // 208
        0.806859f, 0.737385f, 0.387684f, // 209
        0.811054f, 0.740801f, 0.385198f, // 210
        0.815274f, 0.744226f, 0.382504f, // 211
        0.819499f, 0.747659f, 0.379785f, // 212
        0.823729f, 0.751101f, 0.377043f, // 213
        0.827959f, 0.754553f, 0.374292f, // 214
        0.832192f, 0.758014f, 0.371529f, // 215
        0.836429f, 0.761483f, 0.368747f, // 216
        0.840693f, 0.764962f, 0.365746f, // 217
        0.844957f, 0.768450f, 0.362741f, // 218
        0.849223f, 0.771947f, 0.359729f, // 219
        0.853515f, 0.775454f, 0.356500f, // 220
        0.857809f, 0.778969f, 0.353259f, // 221
        0.862105f, 0.782494f, 0.350011f, // 222
        0.866421f, 0.786028f, 0.346571f, // 223
        0.870717f, 0.789572f, 0.343333f, // 224
        0.875057f, 0.793125f, 0.339685f, // 225
        0.879378f, 0.796687f, 0.336241f, // 226
        0.883720f, 0.800258f, 0.332599f, // 227
        0.888081f, 0.803839f, 0.328770f, // 228
        0.892440f, 0.807430f, 0.324968f, // 229
        0.896818f, 0.811030f, 0.320982f, // 230
        0.901195f, 0.814639f, 0.317021f, // 231
        0.905589f, 0.818257f, 0.312889f, // 232
        0.910000f, 0.821885f, 0.308594f, // 233
        0.914407f, 0.825522f, 0.304348f, // 234
        0.918828f, 0.829168f, 0.299960f, // 235
        0.923279f, 0.832822f, 0.295244f, // 236
        0.927724f, 0.836486f, 0.290611f, // 237
        0.932180f, 0.840159f, 0.285880f, // 238
        0.936660f, 0.843841f, 0.280876f, // 239
        0.941147f, 0.847530f, 0.275815f, // 240
        0.945654f, 0.851228f, 0.270532f, // 241
        0.950178f, 0.854933f, 0.265085f, // 242
        0.954725f, 0.858646f, 0.259365f, // 243
        0.959284f, 0.862365f, 0.253563f, // 244
        0.963872f, 0.866089f, 0.247445f, // 245
        0.968469f, 0.869819f, 0.241310f, // 246
        0.973114f, 0.873550f, 0.234677f, // 247
        0.977780f, 0.877281f, 0.227954f, // 248
        0.982497f, 0.881008f, 0.220878f, // 249
        0.987293f, 0.884718f, 0.213336f, // 250
        0.992218f, 0.888385f, 0.205468f, // 251
        0.994847f, 0.892954f, 0.203445f, // 252
        0.995249f, 0.898384f, 0.207561f, // 253
        0.995503f, 0.903866f, 0.212370f, // 254
        0.995737f, 0.909344f, 0.217772f, // 255
    ];
}
