#!/bin/sh
# Vendor the kiosk's third-party browser code into static/vendor/ (make vendor).
#
# The kiosk serves every asset itself (no CDN, nothing fetched at run time, a strict CSP), so
# the libraries are installed from the npm registry here, at pinned versions, and their built
# files and licences are committed. Re-run after changing a version below; review the diff.
# Needs node and npm; nothing else of the project uses them.
set -eu

SIMPLE_KEYBOARD_VERSION=3.8.192
SWAGGER_UI_VERSION=5.35.0
SIGNATURE_PAD_VERSION=5.1.4

root=$(cd "$(dirname "$0")/.." && pwd)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

cd "$work"
npm init --yes >/dev/null
# --ignore-scripts: no install script of a package runs on this machine.
npm install --no-audit --no-fund --ignore-scripts --save-exact \
	"simple-keyboard@$SIMPLE_KEYBOARD_VERSION" "swagger-ui-dist@$SWAGGER_UI_VERSION" \
	"signature_pad@$SIGNATURE_PAD_VERSION" >/dev/null

src="$work/node_modules/simple-keyboard"
dest="$root/static/vendor/simple-keyboard"
rm -rf "$dest"
mkdir -p "$dest"
# The bundle for current browsers (no polyfills); its source map is not served, so its
# reference goes too (a browser's developer tools would ask for it).
sed '/^\/\/# sourceMappingURL=/d' "$src/build/index.modern.js" > "$dest/simple-keyboard.js"
cp "$src/build/css/index.css" "$dest/simple-keyboard.css"
cp "$src/LICENSE" "$dest/LICENSE"
{
	echo "simple-keyboard $SIMPLE_KEYBOARD_VERSION (MIT, see LICENSE), from the npm registry"
	echo "by scripts/vendor.sh: build/index.modern.js and build/css/index.css."
	echo "integrity of the package: $(node -p "require('$work/package-lock.json').packages['node_modules/simple-keyboard'].integrity")"
} > "$dest/VERSION"
echo "vendored simple-keyboard $SIMPLE_KEYBOARD_VERSION into ${dest#"$root"/}"

# The API reference page's viewer (/api/v1/docs): swagger-ui's self-contained bundle and styles.
src="$work/node_modules/swagger-ui-dist"
dest="$root/static/vendor/swagger-ui"
rm -rf "$dest"
mkdir -p "$dest"
sed '/^\/\/# sourceMappingURL=/d' "$src/swagger-ui-bundle.js" > "$dest/swagger-ui-bundle.js"
sed '/sourceMappingURL=/d' "$src/swagger-ui.css" > "$dest/swagger-ui.css"
cp "$src/LICENSE" "$dest/LICENSE"
[ -f "$src/NOTICE" ] && cp "$src/NOTICE" "$dest/NOTICE"
{
	echo "swagger-ui-dist $SWAGGER_UI_VERSION (Apache-2.0, see LICENSE), from the npm registry"
	echo "by scripts/vendor.sh: swagger-ui-bundle.js and swagger-ui.css."
	echo "integrity of the package: $(node -p "require('$work/package-lock.json').packages['node_modules/swagger-ui-dist'].integrity")"
} > "$dest/VERSION"
echo "vendored swagger-ui-dist $SWAGGER_UI_VERSION into ${dest#"$root"/}"

# The kiosk's signing screen (documents to sign): drawing a signature with a finger. The UMD
# build defines window.SignaturePad, loaded by its own <script> (no inline script, strict CSP).
src="$work/node_modules/signature_pad"
dest="$root/static/vendor/signature_pad"
rm -rf "$dest"
mkdir -p "$dest"
sed '/^\/\/# sourceMappingURL=/d' "$src/dist/signature_pad.umd.min.js" > "$dest/signature_pad.js"
cp "$src/LICENSE" "$dest/LICENSE"
{
	echo "signature_pad $SIGNATURE_PAD_VERSION (MIT, see LICENSE), from the npm registry"
	echo "by scripts/vendor.sh: dist/signature_pad.umd.min.js."
	echo "integrity of the package: $(node -p "require('$work/package-lock.json').packages['node_modules/signature_pad'].integrity")"
} > "$dest/VERSION"
echo "vendored signature_pad $SIGNATURE_PAD_VERSION into ${dest#"$root"/}"
