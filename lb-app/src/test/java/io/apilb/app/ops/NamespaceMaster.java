package io.apilb.app.ops;

import io.apilb.core.testing.TestApiServer;
import io.apilb.core.testing.TestPki;

import java.io.IOException;
import java.nio.file.Path;

/**
 * A stand-in kube-apiserver for {@link LocalExhaustionIT}, run as its own process inside a network
 * namespace: the test's {@link TestApiServer}, non-blocking, so connections that never finish their
 * TLS handshake hold no thread of it. Writes the CA that signed its certificate to {@code CA_FILE},
 * prints {@code ready} once it listens on 127.0.0.1:{@code PORT}, and serves until its standard input
 * closes. Usage: {@code NamespaceMaster NAME PORT CA_FILE}.
 */
public final class NamespaceMaster {
    private NamespaceMaster() {
    }

    public static void main(String[] args) throws IOException {
        Path ca = Path.of(args[2]);
        TestPki.writeCa(TestPki.ca(), ca.getParent(), ca.getFileName().toString());
        try (TestApiServer server = TestApiServer.builder(args[0]).port(Integer.parseInt(args[1])).start()) {
            System.out.println("ready");
            System.out.flush();
            while (System.in.read() >= 0) {
                // Input is ignored; only its end matters.
            }
        }
    }
}
