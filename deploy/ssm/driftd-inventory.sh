#!/bin/sh
# driftd-inventory.sh: collects what SSM's Linux inventory lacks and writes it
# as SSM custom inventory, which the SSM agent uploads with its next inventory
# run (AWS-GatherSoftwareInventory with customInventory enabled):
#   Custom:FileDigest   Path, SHA256, Size, Mode, Owner, ModificationTime
#   Custom:SystemdUnit  Name, ActiveState, SubState, UnitFileState
#   Custom:Sysctl       Name, Value
#   Custom:RunningState one entry: Name (host), Kernel, BootTime,
#                       RebootRequired, RebootRequiredSource,
#                       RebootRequiredPackages, LivePatchState,
#                       LivePatchSource, LivePatches
# POSIX sh; needs only coreutils, sed and grep, and systemctl/sysctl,
# needs-restarting/dnf, kpatch/canonical-livepatch when present. Without a
# running systemd the Custom:SystemdUnit type is omitted (its file removed),
# never reported empty: missing data must not look like "no units". A running
# state fact that cannot be learnt is written as "unknown", never guessed.
#
# Environment (the SSM document sets the first three from its parameters):
#   DRIFTD_INVENTORY_FILES    files/globs to digest, space separated
#   DRIFTD_INVENTORY_SYSCTLS  sysctl keys, space separated
#   DRIFTD_INVENTORY_UNITS    "enabled-or-active" (default) or "none"
#   DRIFTD_INVENTORY_DIR      output directory; default the agent's
#                             /var/lib/amazon/ssm/<instance-id>/inventory/custom
#   DRIFTD_INVENTORY_MAX_FILES cap on digested files (default 500)
#   DRIFTD_INVENTORY_ASSUME_SYSTEMD=1 skip the "is systemd running" check (tests)
#   DRIFTD_INVENTORY_ROOT     prefix of /proc, /sys, /etc and /var/run read for
#                             Custom:RunningState (tests; default "")
#   DRIFTD_INVENTORY_CMD_TIMEOUT seconds a package or live patch tool may take
#                             (default 120)
# The single source of truth: driftd-custom-inventory.yaml embeds this file
# line by line (deploy/ssm/inventory_test.go keeps them equal).
set -u
umask 022
export LC_ALL=C

files=${DRIFTD_INVENTORY_FILES:-/etc/ssh/sshd_config /etc/sudoers /etc/sudoers.d/* /etc/systemd/system/*.service}
sysctls=${DRIFTD_INVENTORY_SYSCTLS:-kernel.randomize_va_space net.ipv4.ip_forward net.ipv4.conf.all.accept_redirects net.ipv4.conf.all.send_redirects net.ipv4.tcp_syncookies fs.suid_dumpable}
units=${DRIFTD_INVENTORY_UNITS:-enabled-or-active}
max_files=${DRIFTD_INVENTORY_MAX_FILES:-500}

tab=$(printf '\t')
warn() { echo "driftd-inventory: $*" >&2; }

# Output directory: explicit, else the agent's custom inventory folder.
out=${DRIFTD_INVENTORY_DIR:-}
if [ -z "$out" ]; then
  id=${AWS_SSM_INSTANCE_ID:-}
  if [ -z "$id" ] && [ -r /var/lib/cloud/data/instance-id ]; then
    id=$(cat /var/lib/cloud/data/instance-id)
  fi
  case $id in
    i-* | mi-*) ;;
    *) warn "instance id unknown (no AWS_SSM_INSTANCE_ID, no cloud-init instance-id); set DRIFTD_INVENTORY_DIR"; exit 2 ;;
  esac
  out=/var/lib/amazon/ssm/$id/inventory/custom
fi
mkdir -p "$out" || { warn "cannot create $out"; exit 2; }

# json_str prints its argument as a JSON string: backslash, quote and tab
# escaped, other control characters dropped, whitespace runs kept.
json_str() {
  printf '"%s"' "$(printf '%s' "$1" | tr -d '\000-\010\012-\037' | sed -e 's/\\/\\\\/g' -e 's/"/\\"/g' -e "s/$tab/\\\\t/g")"
}

# begin_type/entry/end_type write one custom inventory file atomically.
begin_type() {
  type_name=$1
  tmp=$(mktemp "$out/.driftd.XXXXXX") || exit 2
  printf '{"SchemaVersion":"1.0","TypeName":"%s","Content":[' "$type_name" >"$tmp"
  sep=""
  count=0
}
# entry k1 v1 k2 v2 ...
entry() {
  printf '%s{' "$sep" >>"$tmp"
  esep=""
  while [ $# -ge 2 ]; do
    printf '%s%s:%s' "$esep" "$(json_str "$1")" "$(json_str "$2")" >>"$tmp"
    esep=","
    shift 2
  done
  printf '}' >>"$tmp"
  sep=","
  count=$((count + 1))
}
end_type() {
  printf ']}\n' >>"$tmp"
  chmod 0644 "$tmp"
  mv -f "$tmp" "$out/$1.json"
}
omit_type() {
  rm -f "$out/$1.json"
}

# --- Custom:FileDigest --------------------------------------------------------
begin_type Custom:FileDigest
n=0
set -f
for pattern in $files; do
  set +f
  # shellcheck disable=SC2086 # the pattern is a glob on purpose
  for f in $pattern; do
    [ -f "$f" ] || continue
    if [ "$n" -ge "$max_files" ]; then
      warn "more than $max_files files; the rest are not digested"
      break 2
    fi
    if [ ! -r "$f" ]; then
      warn "cannot read $f; skipped"
      continue
    fi
    # size, octal mode, owner:group, mtime (epoch seconds)
    st=$(stat -L -c '%s %a %U:%G %Y' -- "$f" 2>/dev/null) || { warn "cannot stat $f; skipped"; continue; }
    set -- $st
    sum=$(sha256sum -- "$f" 2>/dev/null | cut -d' ' -f1) || sum=""
    [ -n "$sum" ] || { warn "cannot hash $f; skipped"; continue; }
    mtime=$(date -u -d "@$4" +%Y-%m-%dT%H:%M:%SZ)
    mode=$(printf '%04d' "$2")
    entry Path "$f" SHA256 "$sum" Size "$1" Mode "$mode" Owner "$3" ModificationTime "$mtime"
    n=$((n + 1))
  done
  set -f
done
set +f
end_type Custom_FileDigest

# --- Custom:Sysctl ------------------------------------------------------------
begin_type Custom:Sysctl
for key in $sysctls; do
  case $key in
    *[!A-Za-z0-9._-]* | '') warn "bad sysctl key '$key'; skipped"; continue ;;
  esac
  if command -v sysctl >/dev/null 2>&1; then
    val=$(sysctl -n "$key" 2>/dev/null) || continue
  else
    p=/proc/sys/$(printf '%s' "$key" | tr . /)
    [ -r "$p" ] || continue
    val=$(cat "$p") || continue
  fi
  # normalise whitespace (tcp_rmem is tab separated)
  val=$(printf '%s' "$val" | tr -s ' \t\n' '   ' | sed -e 's/^ //' -e 's/ $//')
  entry Name "$key" Value "$val"
done
end_type Custom_Sysctl

# --- Custom:RunningState -------------------------------------------------------
# What runs, not only what is installed: AWS:Application lists the installed
# kernel packages, not the kernel that booted, a reboot the package manager
# waits for, or live patches applied to the running kernel.
rs_root=${DRIFTD_INVENTORY_ROOT:-}
cmd_timeout=${DRIFTD_INVENTORY_CMD_TIMEOUT:-120}
rs_tmp=$(mktemp "$out/.driftd.XXXXXX") || exit 2

# bounded runs a command under timeout(1) when there is one, so that a hung
# package manager cannot hold the document until its own timeout.
bounded() {
  if command -v timeout >/dev/null 2>&1; then
    timeout "$cmd_timeout" "$@"
  else
    "$@"
  fi
}

# join_file joins the non-empty lines of a file with commas into $joined:
# whole items only, at most 4000 characters (custom inventory values are
# limited to 4096); $joined_cut says whether items were left out.
join_file() {
  joined="" joined_cut=false
  while IFS= read -r item || [ -n "$item" ]; do
    [ -n "$item" ] || continue
    if [ $((${#joined} + ${#item} + 1)) -gt 4000 ]; then
      joined_cut=true
      break
    fi
    joined=${joined:+$joined,}$item
  done <"$1"
}

kernel=$(uname -r 2>/dev/null) || kernel=""
[ -n "$kernel" ] || kernel=unknown

# Boot time: the kernel's btime (epoch seconds), else uptime -s (local time).
boot=unknown
btime=$(sed -n 's/^btime \([0-9][0-9]*\)$/\1/p' "$rs_root/proc/stat" 2>/dev/null)
if [ -n "$btime" ]; then
  boot=$(date -u -d "@$btime" +%Y-%m-%dT%H:%M:%SZ 2>/dev/null) || boot=unknown
elif command -v uptime >/dev/null 2>&1; then
  since=$(uptime -s 2>/dev/null) || since=""
  if [ -n "$since" ] && epoch=$(date -d "$since" +%s 2>/dev/null); then
    boot=$(date -u -d "@$epoch" +%Y-%m-%dT%H:%M:%SZ 2>/dev/null) || boot=unknown
  fi
fi

# Reboot required. needs-restarting -r exits 1 for "reboot required", but so
# does dnf for a missing plugin or a failed start: only its own sentences
# decide, anything else is unknown.
reboot=unknown reboot_src=none reboot_pkgs=""
needs_restarting() {
  bounded "$@" >"$rs_tmp" 2>/dev/null
  case $? in
    # dnf: "Reboot should not be necessary."; yum-utils: "Reboot is probably not necessary."
    0) grep -q -e 'not be necessary' -e 'not necessary' "$rs_tmp" && reboot=false ;;
    1)
      if grep -q 'Reboot is required' "$rs_tmp"; then
        reboot=true
        # dnf: "  * kernel"; yum-utils: "  kernel -> 4.14.355-275.570.amzn2"
        sed -n -e 's/^[[:space:]]*\* *\([^[:space:]]\{1,\}\).*$/\1/p' \
          -e 's/^[[:space:]]\{1,\}\([^[:space:]*]\{1,\}\) -> .*$/\1/p' "$rs_tmp" | tr -d ',' | sort -u >"$rs_tmp.list"
        join_file "$rs_tmp.list"
        reboot_pkgs=$joined
      fi
      ;;
  esac
}
if [ -f "$rs_root/etc/debian_version" ]; then
  # Debian and Ubuntu: update-notifier-common (Ubuntu) and unattended-upgrades'
  # kernel hook write /var/run/reboot-required; without either nothing does,
  # and its absence proves nothing.
  reboot_src=reboot-required-file
  if [ -e "$rs_root/var/run/reboot-required" ]; then
    reboot=true
    if [ -r "$rs_root/var/run/reboot-required.pkgs" ]; then
      tr -d ', \t\r' <"$rs_root/var/run/reboot-required.pkgs" | grep . | sort -u >"$rs_tmp.list"
      join_file "$rs_tmp.list"
      reboot_pkgs=$joined
    fi
  elif [ -e "$rs_root/etc/kernel/postinst.d/unattended-upgrades" ] || [ -e "$rs_root/etc/kernel/postinst.d/update-notifier" ] ||
    [ -e "$rs_root/usr/share/update-notifier/notify-reboot-required" ]; then
    reboot=false
  fi
elif command -v needs-restarting >/dev/null 2>&1; then
  reboot_src=needs-restarting
  needs_restarting needs-restarting -r
elif command -v dnf >/dev/null 2>&1; then
  reboot_src=dnf
  needs_restarting dnf -C --disablerepo='*' needs-restarting -r
fi

# Live patches applied to the running kernel: kpatch (Amazon Linux, RHEL),
# canonical-livepatch (Ubuntu), else the kernel's own list.
lp_state=unknown lp_src=none lp_ids=""
if command -v kpatch >/dev/null 2>&1; then
  lp_src=kpatch
  if bounded kpatch list >"$rs_tmp" 2>/dev/null && grep -q '^Loaded patch modules:' "$rs_tmp"; then
    # loaded modules are "name [enabled]"; installed ones "name (kernel)"
    sed -n 's/^[[:space:]]*\([^[:space:]]\{1,\}\)[[:space:]]\{1,\}\[enabled\].*$/\1/p' "$rs_tmp" | tr -d ',' | sort -u >"$rs_tmp.list"
    join_file "$rs_tmp.list"
    lp_ids=$joined lp_state=none
    [ -n "$lp_ids" ] && lp_state=applied
    [ "$joined_cut" = true ] && lp_state=unknown
  fi
elif command -v canonical-livepatch >/dev/null 2>&1; then
  lp_src=canonical-livepatch
  if bounded canonical-livepatch status >"$rs_tmp" 2>/dev/null; then
    pstate=$(sed -n 's/^[[:space:]]*patch state:[[:space:]]*//p' "$rs_tmp" | head -n 1)
    pversion=$(sed -n 's/^[[:space:]]*patch version:[[:space:]]*//p' "$rs_tmp" | head -n 1 | tr -d '", \t\r')
    case $pstate in
      *"no livepatches"*) lp_state=none ;;
      *applied* | *inserted*) [ -n "$pversion" ] && lp_state=applied lp_ids=$pversion ;;
    esac
  fi
elif [ -d "$rs_root/sys/kernel/livepatch" ]; then
  lp_src=sysfs
  : >"$rs_tmp.list"
  for d in "$rs_root"/sys/kernel/livepatch/*; do
    [ -r "$d/enabled" ] && [ "$(cat "$d/enabled" 2>/dev/null)" = 1 ] && printf '%s\n' "${d##*/}" >>"$rs_tmp.list"
  done
  join_file "$rs_tmp.list"
  lp_ids=$joined lp_state=none
  [ -n "$lp_ids" ] && lp_state=applied
  [ "$joined_cut" = true ] && lp_state=unknown
else
  lp_state=none
fi
[ "$lp_state" = unknown ] && warn "live patch state unknown ($lp_src)"
rm -f "$rs_tmp" "$rs_tmp.list"

begin_type Custom:RunningState
entry Name host Kernel "$kernel" BootTime "$boot" \
  RebootRequired "$reboot" RebootRequiredSource "$reboot_src" RebootRequiredPackages "$reboot_pkgs" \
  LivePatchState "$lp_state" LivePatchSource "$lp_src" LivePatches "$lp_ids"
end_type Custom_RunningState

# --- Custom:SystemdUnit -------------------------------------------------------
systemd_up() {
  command -v systemctl >/dev/null 2>&1 || return 1
  [ "${DRIFTD_INVENTORY_ASSUME_SYSTEMD:-}" = 1 ] && return 0
  [ -d /run/systemd/system ]
}
if [ "$units" = none ]; then
  omit_type Custom_SystemdUnit
elif ! systemd_up; then
  warn "systemd is not running; Custom:SystemdUnit omitted"
  omit_type Custom_SystemdUnit
else
  names=$(
    {
      systemctl list-unit-files --type=service,socket,timer,path --state=enabled --no-legend --no-pager 2>/dev/null | cut -d' ' -f1
      systemctl list-units --type=service,socket,timer,path --state=active --no-legend --no-pager --plain 2>/dev/null | cut -d' ' -f1
    } | grep -v '@\.' | grep . | sort -u
  )
  if [ -z "$names" ]; then
    warn "systemctl listed no units; Custom:SystemdUnit omitted"
    omit_type Custom_SystemdUnit
  else
    begin_type Custom:SystemdUnit
    # One systemctl call; blocks of Key=value separated by blank lines.
    # shellcheck disable=SC2086
    systemctl show --no-pager -p Id,ActiveState,SubState,UnitFileState -- $names >"$tmp.show" 2>/dev/null
    id="" as="" ss="" ufs=""
    while IFS= read -r line || [ -n "$line" ]; do
      case $line in
        Id=*) id=${line#Id=} ;;
        ActiveState=*) as=${line#ActiveState=} ;;
        SubState=*) ss=${line#SubState=} ;;
        UnitFileState=*) ufs=${line#UnitFileState=} ;;
        '')
          [ -n "$id" ] && entry Name "$id" ActiveState "$as" SubState "$ss" UnitFileState "$ufs"
          id="" as="" ss="" ufs=""
          ;;
      esac
    done <"$tmp.show"
    [ -n "$id" ] && entry Name "$id" ActiveState "$as" SubState "$ss" UnitFileState "$ufs"
    rm -f "$tmp.show"
    end_type Custom_SystemdUnit
  fi
fi
echo "driftd-inventory: wrote custom inventory to $out"
