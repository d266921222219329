#!/usr/bin/env bash
# tta entry point: installs what the build needs, builds the CLI, then runs the Cake task graph (build/build.cake)
# with every argument forwarded. Default target: Figures. Examples:
#   ./build.sh                                  # Download → Extract → Metrics → Figures for experiments/default.yaml
#   ./build.sh --target=Test                    # the whole test suite
#   ./build.sh --experiment='experiments/*.yaml' --explain
#   ./build.sh --help                           # the targets and options
set -euo pipefail
cd "$(dirname "$0")"
export TTA_ROOT="$PWD"
start=$(date +%s.%N)
export DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1 DOTNET_SKIP_FIRST_TIME_EXPERIENCE=1
export CAKE_SETTINGS_ENABLESCRIPTCACHE=true   # Cake compiles build.cake once, not on every run

torch=cpu
for arg in "$@"; do
  case "$arg" in
    --torch=*) torch=${arg#--torch=} ;;
  esac
done
case "$torch" in cpu|cuda) ;; *) echo "build.sh: --torch must be cpu or cuda, not '$torch'" >&2; exit 2 ;; esac

say() { echo "build.sh: $*" >&2; }

# Native prerequisites: the TorchSharp libstdc++ fix (build/native/glibcxx-fix.sh) needs g++ and patchelf, but only
# where the system libstdc++ predates GLIBCXX_3.4.32 (e.g. Debian 12).
need_apt=()
stdcxx=$(ldconfig -p 2>/dev/null | awk '!found && /libstdc\+\+\.so\.6 .*x86-64/ {print $NF; found = 1}')
if [ -n "$stdcxx" ] && ! grep -q GLIBCXX_3.4.32 "$stdcxx"; then
  command -v patchelf >/dev/null || need_apt+=(patchelf)
  command -v g++ >/dev/null || need_apt+=(g++)
  command -v readelf >/dev/null || need_apt+=(binutils)
fi
if [ ${#need_apt[@]} -gt 0 ]; then
  if [ "$(id -u)" = 0 ]; then
    say "installing ${need_apt[*]} (apt)"
    export DEBIAN_FRONTEND=noninteractive
    apt-get install -y -qq "${need_apt[@]}" >/dev/null 2>&1 || { apt-get update -qq >/dev/null && apt-get install -y -qq "${need_apt[@]}" >/dev/null; }
  else
    say "missing ${need_apt[*]}; install them once with: sudo apt-get install ${need_apt[*]}"; exit 1
  fi
fi

# Fonts for figure labels outside Latin script (src/Tta/Figures/LabelFonts.cs): Noto Sans CJK, Noto Color Emoji and the
# Noto Sans script fonts (Arabic, Hebrew, Devanagari, …). Not bundled (about 130 MB); without them such labels show boxes.
need_fonts=()
[ -f /usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc ] || need_fonts+=(fonts-noto-cjk)
[ -f /usr/share/fonts/truetype/noto/NotoColorEmoji.ttf ] || need_fonts+=(fonts-noto-color-emoji)
[ -f /usr/share/fonts/truetype/noto/NotoSansArabic-Regular.ttf ] || need_fonts+=(fonts-noto-core)
if [ ${#need_fonts[@]} -gt 0 ]; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
    say "installing ${need_fonts[*]} (apt)"
    export DEBIAN_FRONTEND=noninteractive
    apt-get install -y -qq --no-install-recommends "${need_fonts[@]}" >/dev/null 2>&1 || { apt-get update -qq >/dev/null && apt-get install -y -qq --no-install-recommends "${need_fonts[@]}" >/dev/null; } || say "could not install ${need_fonts[*]}; labels in those scripts will show boxes"
  else
    say "note: ${need_fonts[*]} not installed; CJK, emoji and non-Latin labels will show boxes (sudo apt-get install ${need_fonts[*]})"
  fi
fi

command -v dotnet >/dev/null || { say "the .NET 10 SDK is required (dotnet not found on PATH)"; exit 1; }
if [ ! -d "${NUGET_PACKAGES:-$HOME/.nuget/packages}/cake.tool/7.0.0" ]; then
  dotnet tool restore >/dev/null || { say "dotnet tool restore failed (cake.tool 7.0.0, .config/dotnet-tools.json)"; exit 1; }
fi

# Build the CLI only when a source file changed since the last build: a no-op dotnet build costs seconds.
config=Release
stamp="src/Tta.Cli/bin/$config/net10.0/.build-stamp-$torch"
# A build output that went missing since (another build's clean-up, a hand edit) counts as a change too.
out="src/Tta.Cli/bin/$config/net10.0"
if [ ! -f "$stamp" ] || [ ! -f "$out/tta-cli.dll" ] || [ ! -f "$out/Tta.dll" ] || [ ! -f "$out/Tta.Build.dll" ] \
   || [ -n "$(find src build/native -newer "$stamp" -type f -not -path '*/bin/*' -not -path '*/obj/*' -print -quit)" ]; then
  log=$(mktemp)
  if ! dotnet build src/Tta.Cli/Tta.Cli.csproj -c "$config" -p:TtaTorch="$torch" -v:q -nologo >"$log" 2>&1; then
    cat "$log" >&2
    if [ "$torch" = cuda ] && grep -q "TorchSharp-cuda-linux" "$log"; then
      say "the package TorchSharp-cuda-linux could not be restored: it is not served by this machine's NuGet source; add a feed that has it (nuget.config) or build with --torch=cpu"
    fi
    rm -f "$log"; exit 1
  fi
  rm -f "$log"
  rm -f src/Tta.Cli/bin/$config/net10.0/.build-stamp-*
  touch "$stamp"
fi

# --help: tta's targets and options (from the tables in src/Tta.Build), not Cake's own help.
for arg in "$@"; do
  case "$arg" in
    --help|-h) exec dotnet "src/Tta.Cli/bin/$config/net10.0/tta-cli.dll" help build ;;
  esac
done

# Cake's own assembly, started directly: through the `dotnet cake` tool shim, a no-op run took 0.25 s longer (measured).
cake="${NUGET_PACKAGES:-$HOME/.nuget/packages}/cake.tool/7.0.0/tools/net10.0/any/Cake.dll"
set +e
# Tiered PGO off for Cake and the short tta-cli calls it makes (a no-op run took 0.15 s less); build.cake turns it
# back on for the process that builds units.
export DOTNET_TieredPGO=0
if [ -f "$cake" ]; then dotnet "$cake" build/build.cake --configuration="$config" "$@"; else dotnet cake build/build.cake --configuration="$config" "$@"; fi
rc=$?
set -e
end=$(date +%s.%N)
awk -v a="$start" -v b="$end" -v rc="$rc" 'BEGIN { printf "build.sh: finished in %.1f s (exit %d)\n", b - a, rc }' >&2
exit $rc
