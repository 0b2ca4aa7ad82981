#!/usr/bin/env bash
# Verifies systemd/edge-runtime.service (and edge-runtime.sysusers.conf) against the local
# systemd: `systemd-analyze verify` must print nothing about our unit, then
# `systemd-analyze security --offline=yes` reports the exposure score (informational).
#
# Usage: systemd/verify.sh [PATH-TO-BUILT-edge-runtime]
#   default binary: target/release/edge-runtime in the repository root.
#
# `systemd-analyze verify` insists that ExecStart= binaries exist, so it runs on a temporary
# copy of the unit in which /usr/bin/edge-runtime points at the built binary; nothing else
# is changed (except User=/Group= in the one case described at check_user_lookup below).
# Exit status: 0 verified, 1 verification failed, 2 usage or missing tools.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
repo=$(cd "$here/.." && pwd)
unit_name=edge-runtime.service
unit="$here/$unit_name"
sysusers="$here/edge-runtime.sysusers.conf"
installed_binary=/usr/bin/edge-runtime
service_user=edge-runtime

# Device classes the kernel registers in /proc/devices under these names (v4l2 core,
# usb-serial, cdc-acm, 8250, amba-pl011). systemd resolves DeviceAllow=char-NAME only at
# start and silently skips unknown names, so a typo there would pass `verify` and lock the
# cameras or serial ports out on the device.
known_device_classes=(video4linux ttyUSB ttyACM ttyS ttyAMA rtc)

die() { echo "verify.sh: $*" >&2; exit 2; }
fail() { echo "FAILED: $*" >&2; exit 1; }

command -v systemd-analyze >/dev/null || die "systemd-analyze not found (apt-get install systemd)"
[[ -f $unit ]] || die "no unit file at $unit"

binary=${1:-$repo/target/release/edge-runtime}
[[ -e $binary ]] || die "binary not found: $binary (build it: cargo build --release -p edge-runtime)"
binary=$(realpath "$binary")
[[ -f $binary && -x $binary ]] || die "not an executable file: $binary"

# Clean, complete and stable diagnostics regardless of the caller's environment.
export SYSTEMD_LOG_LEVEL=info SYSTEMD_LOG_COLOR=0 SYSTEMD_LOG_LOCATION=0 SYSTEMD_LOG_TIME=0
export SYSTEMD_COLORS=0 SYSTEMD_PAGER="" LC_ALL=C.UTF-8

tmp=$(mktemp -d "${TMPDIR:-/tmp}/edge-runtime-verify.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
# The binary is reached through a symlink in the temporary directory so that a repository
# path with spaces or characters special to unit files ($, %, ;, \) cannot change the unit.
[[ $tmp =~ ^[A-Za-z0-9_./-]+$ ]] || die "temporary directory $tmp has characters unit files treat specially; set TMPDIR"
mkdir "$tmp/bin" "$tmp/unit"
ln -s "$binary" "$tmp/bin/edge-runtime"
copy="$tmp/unit/$unit_name"

uses=$(grep -Ec -- "$installed_binary([[:space:]]|\$)" "$unit" || true)
((uses > 0)) || fail "$unit does not start $installed_binary"
sed -E "s#$installed_binary([[:space:]]|\$)#$tmp/bin/edge-runtime\\1#g" "$unit" >"$copy"

version=$(systemd-analyze --version)
echo "systemd-analyze: ${version%%$'\n'*}"
echo "unit:            $unit"
echo "binary:          $binary (stands in for $installed_binary, $uses references)"

# --- sysusers.d entry: apply it to a scratch copy of passwd/group, never to this machine.
if [[ -f $sysusers ]] && command -v systemd-sysusers >/dev/null; then
  mkdir -p "$tmp/sysroot/etc"
  cp /etc/passwd /etc/group "$tmp/sysroot/etc/"
  if ! out=$(systemd-sysusers --root="$tmp/sysroot" "$sysusers" 2>&1); then
    printf '%s\n' "$out" >&2
    fail "systemd-sysusers rejected $sysusers"
  fi
  if problems=$(printf '%s\n' "$out" | grep -v -e '^Creating ' -e '^$'); then
    printf '%s\n' "$problems" >&2
    fail "systemd-sysusers warned about $sysusers"
  fi
  grep -q "^$service_user:[^:]*:[^:]*:[^:]*:[^:]*:/var/lib/edge-runtime:" "$tmp/sysroot/etc/passwd" ||
    fail "$sysusers does not create user $service_user with home /var/lib/edge-runtime"
  # shellcheck disable=SC2013 # one group name per word, as SupplementaryGroups= takes them
  for g in $(sed -n 's/^SupplementaryGroups=//p' "$unit"); do
    grep -Eq "^$g:[^:]*:[^:]*:(.*,)?$service_user(,|$)" "$tmp/sysroot/etc/group" ||
      fail "$sysusers does not add $service_user to group $g (SupplementaryGroups= in the unit)"
  done
  echo "sysusers entry:  ok ($sysusers)"
else
  echo "sysusers entry:  not checked (no systemd-sysusers or no $sysusers)"
fi

# --- User=/Group=: does this systemd-analyze look them up?
# systemd 252 (Debian 12) does not: `verify` is silent about a User= that does not exist, so
# the unit is verified unchanged. Should a later version start checking, the unit still has
# to be verified honestly: as root with CI=true the user is created exactly as the package
# does (systemd-sysusers with our entry); otherwise User=/Group= are removed from the
# temporary copy, and that is said.
check_user_lookup() {
  local probe="$tmp/probe/edge-runtime-verify-probe.service"
  mkdir -p "$tmp/probe"
  # Short names: over 31 characters verify warns about the name itself.
  printf '[Service]\nExecStart=%s\nUser=nouser-%s\nGroup=nogroup-%s\n' \
    "$tmp/bin/edge-runtime" "$$" "$$" >"$probe"
  [[ -n $(systemd-analyze verify "$probe" 2>&1) ]]
}
if getent passwd "$service_user" >/dev/null; then
  echo "user:            $service_user exists here"
elif ! check_user_lookup; then
  echo "user:            $service_user does not exist here; this systemd-analyze does not look users up, so User=/Group= stay in and are checked for syntax only"
elif [[ $(id -u) -eq 0 && ${CI:-} == true ]]; then
  systemd-sysusers "$sysusers"
  echo "user:            created $service_user with systemd-sysusers (root, CI=true)"
else
  sed -i -e '/^User=/d' -e '/^Group=/d' "$copy"
  echo "note:            $service_user does not exist and this systemd-analyze checks users: User=/Group= removed from the temporary copy (run as root with CI=true to create the user instead)"
fi

# --- DeviceAllow= class names (see known_device_classes above).
# shellcheck disable=SC2013 # one class per DeviceAllow= line, no spaces in class names
for class in $(sed -n 's/^DeviceAllow=char-\([^ ]*\).*/\1/p' "$unit"); do
  known=no
  for k in "${known_device_classes[@]}"; do [[ $class == "$k" ]] && known=yes; done
  [[ $known == yes ]] || grep -Eq "^ *[0-9]+ $class\$" /proc/devices 2>/dev/null || known=unknown
  [[ $known != unknown ]] || fail "DeviceAllow=char-$class: no such device class (known: ${known_device_classes[*]})"
done

# --- systemd-analyze verify: any line about our unit is a failure, as is a non-zero exit.
# Lines about other units (dependencies installed on this machine) are shown, not counted.
set +e
out=$(systemd-analyze verify "$copy" 2>&1)
rc=$?
set -e
ours=$(printf '%s\n' "$out" | grep -F "$unit_name" || true)
others=$(printf '%s\n' "$out" | grep -v -F "$unit_name" | grep -v '^$' || true)
if [[ -n $others ]]; then
  echo "systemd-analyze verify said about other units (not counted):"
  printf '%s\n' "$others" | sed 's/^/  /'
fi
if [[ -n $ours || $rc -ne 0 ]]; then
  echo "systemd-analyze verify (exit status $rc) about $unit_name:" >&2
  # Report the real file name, not the temporary copy's.
  printf '%s\n' "${ours:-(no message)}" | sed -e "s|$copy|$unit|g" -e "s|$tmp/bin/edge-runtime|$installed_binary|g" >&2
  fail "systemd unit has problems: $unit"
fi

# --- exposure score, informational.
help=$(systemd-analyze --help 2>&1 || true)
if [[ $help == *--offline* ]]; then
  if sec=$(systemd-analyze security --offline=yes --no-pager "$copy" 2>&1); then
    score=$(printf '%s\n' "$sec" | grep 'Overall exposure level' || true)
    echo "security:        ${score:-no exposure line in systemd-analyze security output}"
  else
    echo "security:        systemd-analyze security --offline=yes failed (not counted):"
    printf '%s\n' "$sec" | sed 's/^/  /'
  fi
else
  echo "security:        skipped (this systemd-analyze has no --offline)"
fi

echo "systemd unit verified: $unit"
