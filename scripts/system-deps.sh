#!/usr/bin/env bash
# The Debian packages the tests talk to, in one place; installs the ones that are missing.
# Run as root: `sudo bash scripts/system-deps.sh` (.ci/run calls it; scripts/preflight.mjs, the
# first step of `npm test`, says which programs are missing and points here).
#   openssl, gnutls-bin        second decoders and TLS peers (openssl, gnutls-cli/-serv, certtool)
#   postgresql, default-jdk-headless, libpostgresql-jdbc-java
#                              client-cert logins from psql, node-postgres and Java (JDBC)
#   openssh-server, openssh-client   `certgen distribute` against a real sshd (ssh, scp, ssh-keygen)
#   dropbear-bin               `certgen distribute` against Dropbear (dropbear, dropbearkey)
#   chromium, fonts-dejavu-core      the html report, rendered and screenshotted; and a browser
#                              against node certs of every key type (the DB Console)
#   libnss3-tools              certutil: the NSS database through which that browser trusts the CA
#   golang-go                  the differential test of the certificate reader builds a Go program
#   age                        the reference age CLI: what certgen encrypts (age files, SOPS data keys) must decrypt with it
#   strace                     counts the files report/check open (each once per command)
#   e2fsprogs, util-linux, iproute2, mount
#                              failure tests and private network namespaces (chattr, setpriv,
#                              unshare, nsenter, ip, mount)
#   git, pre-commit            the key-leak guard: check in real repositories and through the
#                              pre-commit framework (.pre-commit-hooks.yaml), offline
#   gpg                        OpenPGP private keys the key-leak guard must find (gpg --export-secret-keys)
set -euo pipefail

PACKAGES=(
  openssl gnutls-bin
  postgresql default-jdk-headless libpostgresql-jdbc-java
  openssh-server openssh-client dropbear-bin
  chromium fonts-dejavu-core libnss3-tools
  golang-go strace age
  e2fsprogs util-linux iproute2 mount
  git pre-commit gpg
)

need=()
for pkg in "${PACKAGES[@]}"; do
  dpkg -s "$pkg" >/dev/null 2>&1 || need+=("$pkg")
done
if [ "${#need[@]}" -eq 0 ]; then
  echo "system-deps: all ${#PACKAGES[@]} packages are installed"
  exit 0
fi
if [ "$(id -u)" -ne 0 ]; then
  echo "system-deps: missing ${need[*]}; run as root: sudo bash scripts/system-deps.sh" >&2
  exit 1
fi
echo "system-deps: installing ${need[*]}"
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends -o DPkg::Lock::Timeout=300 "${need[@]}"
