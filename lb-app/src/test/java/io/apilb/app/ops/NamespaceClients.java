package io.apilb.app.ops;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStream;
import java.io.InputStreamReader;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.security.cert.X509Certificate;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import javax.net.ssl.SSLContext;
import javax.net.ssl.SSLSocket;
import javax.net.ssl.TrustManager;
import javax.net.ssl.X509TrustManager;

/**
 * Clients of an apilb inside a network namespace, for {@link LocalExhaustionIT}: run as their own
 * process there ({@code ip netns exec}), driven line by line on standard input, one answer line per
 * command on standard output. Only the JDK.
 * <ul>
 *   <li>{@code open}: opens the long-lived TLS connection and sends {@code GET /version} on it;</li>
 *   <li>{@code ping}: another {@code GET /version} on that same connection;</li>
 *   <li>{@code flood N}: opens N connections that each send one byte, so apilb dials a master for each;
 *       their source addresses rotate over 127.0.0.2 and up, so that this side's own ports do not run
 *       out first;</li>
 *   <li>{@code release}: closes the flood's connections (RST, no TIME_WAIT here).</li>
 * </ul>
 * Answers {@code ok ...} or {@code fail ...}. Usage: {@code NamespaceClients HOST PORT}.
 */
public final class NamespaceClients {
    private static final int PER_SOURCE_ADDRESS = 4;
    private static final Pattern SERVER_FIELD = Pattern.compile("\"server\":\"([^\"]+)\"");

    private final String host;
    private final int port;
    private final List<Socket> flood = new ArrayList<>();
    private SSLSocket longLived;

    private NamespaceClients(String host, int port) {
        this.host = host;
        this.port = port;
    }

    public static void main(String[] args) throws Exception {
        NamespaceClients clients = new NamespaceClients(args[0], Integer.parseInt(args[1]));
        BufferedReader in = new BufferedReader(new InputStreamReader(System.in, StandardCharsets.UTF_8));
        System.out.println("ready");
        System.out.flush();
        for (String line; (line = in.readLine()) != null; ) {
            String answer;
            try {
                answer = clients.run(line.strip().split(" "));
            } catch (IOException | RuntimeException e) {
                answer = "fail " + e;
            }
            System.out.println(answer);
            System.out.flush();
        }
        clients.release();
    }

    private String run(String[] cmd) throws Exception {
        return switch (cmd[0]) {
            case "open" -> {
                longLived = (SSLSocket) trustAll().getSocketFactory().createSocket(host, port);
                longLived.setSoTimeout(5000);
                yield get();
            }
            case "ping" -> get();
            case "flood" -> "ok " + flood(Integer.parseInt(cmd[1]));
            case "release" -> "ok " + release();
            default -> "fail unknown command " + cmd[0];
        };
    }

    private String get() throws IOException {
        OutputStream out = longLived.getOutputStream();
        out.write("GET /version HTTP/1.1\r\nHost: kubernetes\r\n\r\n".getBytes(StandardCharsets.US_ASCII));
        out.flush();
        InputStream in = longLived.getInputStream();
        String status = line(in);
        int length = 0;
        String servedBy = "?";
        for (String h; !(h = line(in)).isEmpty(); ) {
            String lower = h.toLowerCase(Locale.ROOT);
            if (lower.startsWith("content-length:")) {
                length = Integer.parseInt(h.substring(15).strip());
            } else if (lower.startsWith("x-served-by:")) {
                servedBy = h.substring(12).strip();
            }
        }
        String body = new String(in.readNBytes(length), StandardCharsets.UTF_8);
        // The master names itself in X-Served-By, or in the "server" field of its JSON.
        Matcher m = SERVER_FIELD.matcher(body);
        if (servedBy.equals("?") && m.find()) {
            servedBy = m.group(1);
        }
        return status.contains(" 200 ") ? "ok " + servedBy : "fail " + status;
    }

    private int flood(int n) {
        for (int i = 0; i < n; i++) {
            try {
                Socket s = new Socket();
                byte[] source = {127, 0, 0, (byte) (2 + flood.size() / PER_SOURCE_ADDRESS)};
                s.bind(new InetSocketAddress(InetAddress.getByAddress(source), 0));
                s.connect(new InetSocketAddress(host, port), 2000);
                // The first byte of a TLS record: apilb dials a master once a client has spoken.
                s.getOutputStream().write(0x16);
                flood.add(s);
            } catch (IOException e) {
                // This side ran short itself: the flood is as large as it gets.
                break;
            }
        }
        return flood.size();
    }

    private int release() {
        int n = flood.size();
        for (Socket s : flood) {
            try {
                s.setSoLinger(true, 0);
                s.close();
            } catch (IOException e) {
                // Closed already.
            }
        }
        flood.clear();
        return n;
    }

    private static String line(InputStream in) throws IOException {
        StringBuilder sb = new StringBuilder();
        for (int c; (c = in.read()) != '\n'; ) {
            if (c < 0) {
                throw new IOException("connection closed");
            }
            if (c != '\r') {
                sb.append((char) c);
            }
        }
        return sb.toString();
    }

    private static SSLContext trustAll() throws Exception {
        SSLContext tls = SSLContext.getInstance("TLS");
        tls.init(null, new TrustManager[] {new X509TrustManager() {
            @Override
            public void checkClientTrusted(X509Certificate[] chain, String authType) {
            }

            @Override
            public void checkServerTrusted(X509Certificate[] chain, String authType) {
            }

            @Override
            public X509Certificate[] getAcceptedIssuers() {
                return new X509Certificate[0];
            }
        }}, null);
        return tls;
    }
}
