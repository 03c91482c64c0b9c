#!/usr/bin/env bash
# Installs plantgate on a gateway (Raspberry Pi OS, Debian, Ubuntu) from this checkout:
# builds it, puts it under /usr/lib/plantgate with a /usr/bin/plantgate link, creates the
# plantgate system user, the config and state directories, and the systemd unit.
# Run as root from the repository: sudo scripts/install.sh [--prefix /usr/lib/plantgate]
# It never overwrites an existing /etc/plantgate/plantgate.yaml.
set -euo pipefail

prefix=/usr/lib/plantgate
while [ $# -gt 0 ]; do
  case "$1" in
    --prefix) prefix=$2; shift 2 ;;
    -h|--help) sed -n '2,6p' "$0"; exit 0 ;;
    *) echo "install.sh: unknown option $1" >&2; exit 2 ;;
  esac
done

[ "$(id -u)" -eq 0 ] || { echo "install.sh: run as root" >&2; exit 1; }
cd "$(dirname "$0")/.."
node -e 'process.exit(Number(process.versions.node.split(".")[0]) >= 20 ? 0 : 1)' ||
  { echo "install.sh: Node.js 20 or newer is needed" >&2; exit 1; }

echo "building"
npm ci --no-audit --no-fund
npm run build
npm prune --omit=dev --no-audit --no-fund

echo "installing to $prefix"
mkdir -p "$prefix"
cp -r dist node_modules package.json README.md config systemd "$prefix/"
ln -sf "$prefix/dist/cli/main.js" /usr/bin/plantgate
chmod +x "$prefix/dist/cli/main.js"

id plantgate >/dev/null 2>&1 ||
  useradd --system --home-dir /var/lib/plantgate --shell /usr/sbin/nologin plantgate
for group in dialout gpio; do
  getent group "$group" >/dev/null && usermod -aG "$group" plantgate
done

install -d -m 0755 /etc/plantgate
install -d -m 0750 -o plantgate -g plantgate /var/lib/plantgate
if [ ! -e /etc/plantgate/plantgate.yaml ]; then
  install -m 0644 config/plantgate.example.yaml /etc/plantgate/plantgate.yaml
  echo "wrote /etc/plantgate/plantgate.yaml from the example: edit it before starting"
fi

install -m 0644 systemd/plantgate.service /etc/systemd/system/plantgate.service
if command -v systemctl >/dev/null && [ -d /run/systemd/system ]; then
  systemctl daemon-reload
  echo "next: plantgate check-config -c /etc/plantgate/plantgate.yaml &&" \
    "systemctl enable --now plantgate"
fi
