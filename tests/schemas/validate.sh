#!/usr/bin/env bash
# Validates VOTable, VOSI (availability, capabilities, tables), TAPRegExt,
# VOResource and UWS documents against the IVOA schemas beside this script,
# offline. Usage: validate.sh FILE...   Exit 1 if any file is invalid.
# Needs xmllint (Debian package libxml2-utils).
set -u
X=$(cd "$(dirname "$0")" && pwd)
export XML_CATALOG_FILES=$X/catalog.xml
bad=0
for f in "$@"; do
  if grep -q '<VOTABLE' "$f" 2>/dev/null; then schema=$X/VOTable-1.5.xsd; else schema=$X/vo-all.xsd; fi
  if out=$(xmllint --noout --nonet --schema "$schema" "$f" 2>&1); then echo "valid: $f"
  else bad=1; echo "INVALID: $f"; echo "$out" | grep -v 'validates$' | head -5 | sed 's/^/  /'; fi
done
exit $bad
