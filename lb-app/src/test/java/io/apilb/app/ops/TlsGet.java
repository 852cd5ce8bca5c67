package io.apilb.app.ops;

import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.security.GeneralSecurityException;
import java.security.KeyStore;
import java.security.cert.CertificateFactory;
import java.time.Duration;
import java.util.List;

import javax.net.ssl.SNIHostName;
import javax.net.ssl.SSLContext;
import javax.net.ssl.SSLParameters;
import javax.net.ssl.SSLSocket;
import javax.net.ssl.TrustManagerFactory;

/**
 * One HTTPS GET over a fresh connection, trusting one CA, with SNI {@code kubernetes} as kubectl
 * sends for a cluster's API: enough to see which master answered through a balancer whose address
 * (a mapped port, a VIP) is not in the masters' certificates.
 */
final class TlsGet {
    private TlsGet() {
    }

    /** Status line and body of a response. */
    record Response(int status, String head, String body) {
    }

    static Response get(InetSocketAddress address, String caPem, String path, Duration timeout)
            throws IOException, GeneralSecurityException {
        KeyStore trust = KeyStore.getInstance(KeyStore.getDefaultType());
        trust.load(null, null);
        trust.setCertificateEntry("ca", CertificateFactory.getInstance("X.509")
                .generateCertificate(new ByteArrayInputStream(caPem.getBytes(StandardCharsets.US_ASCII))));
        TrustManagerFactory tmf = TrustManagerFactory.getInstance(TrustManagerFactory.getDefaultAlgorithm());
        tmf.init(trust);
        SSLContext ctx = SSLContext.getInstance("TLS");
        ctx.init(null, tmf.getTrustManagers(), null);
        int millis = (int) timeout.toMillis();
        try (SSLSocket s = (SSLSocket) ctx.getSocketFactory().createSocket()) {
            s.connect(address, millis);
            s.setSoTimeout(millis);
            SSLParameters params = s.getSSLParameters();
            // The chain is verified against the CA; the name is "kubernetes", not the address dialled.
            params.setServerNames(List.of(new SNIHostName("kubernetes")));
            s.setSSLParameters(params);
            s.startHandshake();
            OutputStream out = s.getOutputStream();
            out.write(("GET " + path + " HTTP/1.1\r\nHost: kubernetes\r\nConnection: close\r\n\r\n")
                    .getBytes(StandardCharsets.US_ASCII));
            out.flush();
            InputStream in = s.getInputStream();
            String response = new String(in.readAllBytes(), StandardCharsets.UTF_8);
            int split = response.indexOf("\r\n\r\n");
            String head = split < 0 ? response : response.substring(0, split);
            String body = split < 0 ? "" : response.substring(split + 4);
            String[] statusLine = head.split(" ", 3);
            return new Response(statusLine.length > 1 ? Integer.parseInt(statusLine[1]) : -1, head, body);
        }
    }
}
