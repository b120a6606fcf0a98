#!/usr/bin/env bash
# Installs everything moodchords needs that is missing, then exits. Idempotent: a second run
# checks the Debian packages (dpkg, fast) and the virtual environment's stamp (keyed on the
# dependency files) and installs nothing.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
VENV=${MOODCHORDS_VENV:-$ROOT/.venv}
PY=${PYTHON:-python3.11}
command -v "$PY" >/dev/null 2>&1 || PY=python3
log() { printf '[setup] %s\n' "$*" >&2; }

# ---------------------------------------------------------------- Debian packages
apt_packages=$(grep -Ev '^\s*(#|$)' requirements/apt.txt | tr '\n' ' ')
missing=""
for p in $apt_packages; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing="$missing $p"
done
if [ -n "$missing" ]; then
  if ! command -v apt-get >/dev/null 2>&1 || [ "$(id -u)" != 0 ]; then
    log "missing system packages:$missing"
    log "install them as root:  apt-get install --no-install-recommends$missing"
    log "(then run this command again)"
    exit 1
  fi
  log "installing Debian packages:$missing"
  export DEBIAN_FRONTEND=noninteractive
  # jackd2 asks whether to enable real-time limits; answer it before it asks.
  echo "jackd2 jackd/tweak_rt_limits boolean false" | debconf-set-selections
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends $missing >/dev/null
fi

# ---------------------------------------------------------------- SoundFont into assets/
sf_dir=assets/soundfonts
if ! find -L "$sf_dir" -maxdepth 1 \( -name '*.sf2' -o -name '*.sf3' \) -type f | grep -q .; then
  for candidate in /usr/share/sounds/sf3/MuseScore_General_Lite.sf3 /usr/share/sounds/sf3/MuseScore_General.sf3 \
                   /usr/share/sounds/sf2/FluidR3_GM.sf2 /usr/share/sounds/sf2/default-GM.sf2; do
    if [ -e "$candidate" ]; then
      ln -sf "$(readlink -f "$candidate")" "$sf_dir/$(basename "$candidate")"
      log "linked SoundFont $candidate into $sf_dir/"
      break
    fi
  done
fi

# ---------------------------------------------------------------- Python virtual environment
if command -v nvidia-smi >/dev/null 2>&1 && nvidia-smi -L >/dev/null 2>&1; then
  tf_req="tensorflow[and-cuda]==2.21.0"
else
  tf_req="tensorflow-cpu==2.21.0"
fi
key=$(cat requirements/base.txt scripts/setup.sh pyproject.toml $(ls requirements/constraints.txt 2>/dev/null) | sha256sum | cut -c1-16)
stamp="$VENV/.moodchords-installed-$key-${tf_req%%==*}"
if [ ! -e "$stamp" ]; then
  log "creating/updating the virtual environment in $VENV (several minutes the first time)"
  [ -x "$VENV/bin/python" ] || "$PY" -m venv "$VENV"
  pip=("$VENV/bin/python" -m pip install -q --disable-pip-version-check)
  cons=()
  [ -s requirements/constraints.txt ] && cons=(-c requirements/constraints.txt)
  # torch first: the CPU wheel. An unpinned torch would pull a multi-GB CUDA build.
  "${pip[@]}" "torch==2.13.0"
  "${pip[@]}" "${cons[@]}" "$tf_req" -r requirements/base.txt
  # openai-whisper without its dependency list (triton is GPU-only, 1 GB); its needs are in base.txt.
  "${pip[@]}" "${cons[@]}" --no-deps "openai-whisper==20250625"
  "${pip[@]}" "${cons[@]}" --no-deps -e .
  rm -f "$VENV"/.moodchords-installed-*
  touch "$stamp"
  log "virtual environment ready"
fi
