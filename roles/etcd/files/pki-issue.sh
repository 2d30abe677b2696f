#!/bin/sh
# pki-issue.sh NAME CN DAYS, in the controller's PKI directory (tasks/pki.yml): issue (or
# re-issue) NAME.crt for CN, valid DAYS days, with the extensions of NAME.ext, signed by the CA
# (ca.key, ca.crt). The key NAME.key is made once; keys are written 0600.
set -eu
umask 077
[ -s "$1.key" ] || openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$1.key"
openssl req -new -key "$1.key" -subj "/CN=$2" -out "$1.csr"
openssl x509 -req -in "$1.csr" -CA ca.crt -CAkey ca.key -set_serial "0x$(openssl rand -hex 16)" \
  -days "$3" -extfile "$1.ext" -out "$1.crt.new"
mv "$1.crt.new" "$1.crt"
rm -f "$1.csr"
