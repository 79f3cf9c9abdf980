#!/usr/bin/env bash
# windows.msi_tables: what the MSI installs, read back with msiinfo (msitools): the version,
# the files and where they go, the service and its control, the custom actions and their
# conditions, the Event Log source and the upgrade rule.
#   check-msi-tables.sh MSI VERSION
set -euo pipefail
msi=$1 version=$2
status=0
table() { msiinfo export "$msi" "$1" | tr -d '\r' | tail -n +4; }
expect() {
    local name=$1 pattern=$2 text=$3
    if grep -Eq -- "$pattern" <<< "$text"; then
        echo "ok   $name"
    else
        echo "FAIL $name: no line matches /$pattern/ in:"
        echo "$text"
        status=1
    fi
}
properties=$(table Property)
expect "ProductVersion $version" "^ProductVersion	$version\$" "$properties"
files=$(table File)
for f in tenderkeyd.exe tenderkeyd-service.exe tenderkey.exe tenderkeyd.example.toml; do
    expect "file $f" "	$f	" "$files"
done
directories=$(table Directory)
expect "executables under ProgramFiles64Folder" "^INSTALLDIR	ProgramFiles64Folder	TenderKey" "$directories"
services=$(table ServiceInstall)
expect "service TenderKey as LocalService, run-service" \
    "TenderKey	TenderKey smart-card daemon	16	2	1	.*NT AUTHORITY\\\\LocalService.*run-service" "$services"
controls=$(table ServiceControl)
expect "service started on install, stopped and removed on uninstall" "TenderKey	(161|163)	" "$controls"
actions=$(table CustomAction)
expect "custom action: tenderkeyd-service.exe install (deferred, no impersonation)" \
    "^ConfigureService	3090	ServiceExe	install" "$actions"
expect "custom action: remove-data" "^RemoveData	3154	ServiceExe	remove-data" "$actions"
sequence=$(table InstallExecuteSequence)
expect "ConfigureService unless removing" "^ConfigureService	NOT REMOVE	" "$sequence"
expect "RemoveData on uninstall, not on upgrade" \
    "^RemoveData	REMOVE=\"ALL\" AND NOT UPGRADINGPRODUCTCODE	" "$sequence"
registry=$(table Registry)
expect "Event Log source" "EventLog\\\\Application\\\\TenderKey\\\\?	EventMessageFile	\\[#ServiceExe\\]" "$registry"
upgrade=$(table Upgrade)
expect "major upgrade of older versions" "^\\{2FA2209D-8483-4BF6-8ABE-175435F4434B\\}" "$upgrade"
exit "$status"
