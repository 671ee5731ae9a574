# Sourced by the security tests. make_ca DIR NAME: a throwaway CA (DIR/NAME.pem, DIR/NAME.key).
# make_cert DIR NAME CA SAN: a server certificate for SAN ("IP:127.0.0.1,DNS:localhost") signed by CA
# (DIR/NAME.pem, DIR/NAME.key), valid for 2 days. Unencrypted PEM keys, 0600.
make_ca() {
  local dir=$1 name=$2
  openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj "/CN=saldo test CA $name" \
    -keyout "$dir/$name.key" -out "$dir/$name.pem" -addext "basicConstraints=critical,CA:TRUE" \
    -addext "keyUsage=critical,keyCertSign,cRLSign" 2>/dev/null
  chmod 600 "$dir/$name.key"
}
make_cert() {
  local dir=$1 name=$2 ca=$3 san=$4
  openssl req -newkey rsa:2048 -nodes -subj "/CN=$name" -keyout "$dir/$name.key" -out "$dir/$name.csr" 2>/dev/null
  printf 'subjectAltName=%s\nextendedKeyUsage=serverAuth,clientAuth\n' "$san" > "$dir/$name.ext"
  openssl x509 -req -in "$dir/$name.csr" -CA "$dir/$ca.pem" -CAkey "$dir/$ca.key" -CAcreateserial -days 2 \
    -extfile "$dir/$name.ext" -out "$dir/$name.pem" 2>/dev/null
  chmod 600 "$dir/$name.key"
  rm -f "$dir/$name.csr" "$dir/$name.ext"
}
