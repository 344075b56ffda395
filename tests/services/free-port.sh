#!/usr/bin/env bash
# Prints a TCP port that is free on 127.0.0.1 right now (sourced by the start-*.sh scripts).
free_port() {
    python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}
# wait_port PORT SECONDS: succeeds once something accepts connections on 127.0.0.1:PORT
wait_port() {
    local i
    for ((i = 0; i < $2 * 10; i++)); do
        if (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; then
            return 0
        fi
        sleep 0.1
    done
    return 1
}
