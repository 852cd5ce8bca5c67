package io.apilb.core.testing;

import io.netty.pkitesting.X509Bundle;

import java.io.BufferedInputStream;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.Locale;

import javax.net.ssl.SNIHostName;
import javax.net.ssl.SSLContext;
import javax.net.ssl.SSLParameters;
import javax.net.ssl.SSLSocket;

/**
 * A blocking HTTPS/1.1 client for tests, speaking to a {@link TestApiServer} directly or through the
 * balancer. Trusts {@link TestPki#ca()}; optionally presents a client certificate and an SNI name.
 * One instance is one kept-alive connection.
 */
public final class TestHttpsClient implements AutoCloseable {
    private final SSLSocket socket;
    private final InputStream in;
    private final OutputStream out;

    /** A reply: status, headers (lower-case names) and body. */
    public record Response(int status, java.util.Map<String, String> headers, byte[] body) {
        public String text() {
            return new String(body, StandardCharsets.UTF_8);
        }

        /** The {@code "server"} field of a {@code /version} body: which test server answered. */
        public String server() {
            return field("server");
        }

        /** A string field of a flat JSON body, or null when absent or null. */
        public String field(String key) {
            String t = text();
            String marker = "\"" + key + "\":\"";
            int i = t.indexOf(marker);
            return i < 0 ? null : t.substring(i + marker.length(), t.indexOf('"', i + marker.length()));
        }
    }

    private TestHttpsClient(SSLSocket socket) throws IOException {
        this.socket = socket;
        this.in = new BufferedInputStream(socket.getInputStream());
        this.out = socket.getOutputStream();
    }

    public static TestHttpsClient connect(InetSocketAddress address) throws IOException {
        return connect(address, null, null, 5_000);
    }

    /**
     * @param clientCert presented when the server asks, or null
     * @param sni        server name to request, or null for none
     */
    public static TestHttpsClient connect(InetSocketAddress address, X509Bundle clientCert, String sni, int timeoutMillis)
            throws IOException {
        try {
            SSLContext ctx = SSLContext.getInstance("TLS");
            ctx.init(clientCert == null ? null : clientCert.toKeyManagerFactory().getKeyManagers(),
                    TestPki.ca().toTrustManagerFactory().getTrustManagers(), null);
            SSLSocket s = (SSLSocket) ctx.getSocketFactory().createSocket();
            s.connect(address, timeoutMillis);
            s.setSoTimeout(timeoutMillis);
            SSLParameters p = s.getSSLParameters();
            p.setServerNames(sni == null ? List.of() : List.of(new SNIHostName(sni)));
            s.setSSLParameters(p);
            s.startHandshake();
            return new TestHttpsClient(s);
        } catch (IOException e) {
            throw e;
        } catch (Exception e) {
            throw new IOException(e);
        }
    }

    /** One request on a fresh connection. */
    public static Response getOnce(InetSocketAddress address, String path) throws IOException {
        try (TestHttpsClient c = connect(address)) {
            return c.get(path);
        }
    }

    public SSLSocket socket() {
        return socket;
    }

    public InputStream input() {
        return in;
    }

    /** Sends {@code GET path} and reads the whole reply. */
    public Response get(String path) throws IOException {
        sendGet(path);
        return readResponse(Long.MAX_VALUE);
    }

    public void sendGet(String path) throws IOException {
        out.write(("GET " + path + " HTTP/1.1\r\nHost: kubernetes\r\nUser-Agent: apilb-test\r\n\r\n")
                .getBytes(StandardCharsets.US_ASCII));
        out.flush();
    }

    /** Reads status and headers only; the body is left in {@link #input()}. */
    public Response readHead() throws IOException {
        String status = line();
        if (status == null) {
            throw new IOException("connection closed before a response");
        }
        String[] parts = status.split(" ", 3);
        java.util.Map<String, String> headers = new java.util.LinkedHashMap<>();
        for (String l = line(); l != null && !l.isEmpty(); l = line()) {
            int c = l.indexOf(':');
            headers.put(l.substring(0, c).trim().toLowerCase(Locale.ROOT), l.substring(c + 1).trim());
        }
        return new Response(Integer.parseInt(parts[1]), headers, new byte[0]);
    }

    /** Reads a whole response; a chunked body is kept only up to {@code keepAtMost} bytes (the rest is counted off). */
    public Response readResponse(long keepAtMost) throws IOException {
        Response head = readHead();
        ByteArrayOutputStream body = new ByteArrayOutputStream();
        String len = head.headers().get("content-length");
        if (len != null) {
            copy(Long.parseLong(len), body, keepAtMost);
        } else if ("chunked".equalsIgnoreCase(head.headers().get("transfer-encoding"))) {
            for (long n = Long.parseLong(line().trim(), 16); n > 0; n = Long.parseLong(line().trim(), 16)) {
                copy(n, body, keepAtMost);
                line();
            }
            line();
        }
        return new Response(head.status(), head.headers(), body.toByteArray());
    }

    private void copy(long n, ByteArrayOutputStream sink, long keepAtMost) throws IOException {
        byte[] buf = new byte[16 * 1024];
        while (n > 0) {
            int r = in.read(buf, 0, (int) Math.min(buf.length, n));
            if (r < 0) {
                throw new IOException("connection closed in the body");
            }
            if (sink.size() < keepAtMost) {
                sink.write(buf, 0, (int) Math.min(r, keepAtMost - sink.size()));
            }
            n -= r;
        }
    }

    /** One CRLF- or LF-terminated line, without its end; null at the end of the stream. */
    public String line() throws IOException {
        StringBuilder sb = new StringBuilder();
        for (int b = in.read(); b >= 0; b = in.read()) {
            if (b == '\n') {
                int len = sb.length();
                return len > 0 && sb.charAt(len - 1) == '\r' ? sb.substring(0, len - 1) : sb.toString();
            }
            sb.append((char) b);
        }
        return sb.length() == 0 ? null : sb.toString();
    }

    public boolean isClosedByPeer() {
        try {
            socket.setSoTimeout(50);
            return in.read() < 0;
        } catch (java.net.SocketTimeoutException e) {
            return false;
        } catch (IOException e) {
            return true;
        }
    }

    @Override
    public void close() {
        try {
            socket.close();
        } catch (IOException ignored) {
            // Closing a test socket that the peer already reset.
        }
    }
}
