package io.apilb.app.ops;

import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpsConfigurator;
import com.sun.net.httpserver.HttpsServer;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.KeyStore;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;

import javax.net.ssl.KeyManagerFactory;
import javax.net.ssl.SSLContext;

/**
 * Stand-in kube-apiservers for {@link KeepalivedPairIT}, run as their own process inside a network
 * namespace (the test's {@code TestApiServer}s bind the root namespace's loopback, which the
 * namespaces cannot reach). Only the JDK: HTTPS on {@code HOST:PORT} per master, answering
 * {@code /readyz} with 200 and {@code /version} with the master's name, in the body and in
 * {@code X-Served-By}.
 *
 * <p>Usage: {@code LinkLocalMasters HOST KEYSTORE.p12 PASSWORD PORT...}; prints {@code ready} once
 * every port listens, then serves until its standard input closes or it is killed.
 */
public final class LinkLocalMasters {
    private LinkLocalMasters() {
    }

    public static void main(String[] args) throws Exception {
        if (args.length < 4) {
            System.err.println("usage: LinkLocalMasters HOST KEYSTORE.p12 PASSWORD PORT...");
            System.exit(2);
        }
        char[] password = args[2].toCharArray();
        KeyStore ks = KeyStore.getInstance("PKCS12");
        try (InputStream in = Files.newInputStream(Path.of(args[1]))) {
            ks.load(in, password);
        }
        KeyManagerFactory kmf = KeyManagerFactory.getInstance(KeyManagerFactory.getDefaultAlgorithm());
        kmf.init(ks, password);
        SSLContext tls = SSLContext.getInstance("TLS");
        tls.init(kmf.getKeyManagers(), null, null);

        ExecutorService workers = Executors.newFixedThreadPool(4);
        List<HttpsServer> servers = new ArrayList<>();
        for (int i = 3; i < args.length; i++) {
            String name = "master" + (i - 2);
            HttpsServer server = HttpsServer.create(new InetSocketAddress(args[0], Integer.parseInt(args[i])), 64);
            server.setHttpsConfigurator(new HttpsConfigurator(tls));
            server.createContext("/readyz", ex -> respond(ex, "ok", name));
            server.createContext("/version", ex -> respond(ex,
                    "{\"gitVersion\":\"v0.0.0-apilb-test\",\"servedBy\":\"" + name + "\"}", name));
            server.setExecutor(workers);
            server.start();
            servers.add(server);
        }
        System.out.println("ready");
        System.out.flush();

        // Runs until the test closes our stdin (or kills us).
        CountDownLatch stdinClosed = new CountDownLatch(1);
        Thread watcher = new Thread(() -> {
            try {
                while (System.in.read() >= 0) {
                    // Input is ignored; only its end matters.
                }
            } catch (IOException e) {
                // Treated as closed.
            }
            stdinClosed.countDown();
        }, "stdin-watcher");
        watcher.setDaemon(true);
        watcher.start();
        stdinClosed.await();
        servers.forEach(s -> s.stop(0));
        workers.shutdownNow();
    }

    private static void respond(HttpExchange ex, String body, String name) throws IOException {
        byte[] bytes = body.getBytes(StandardCharsets.UTF_8);
        ex.getResponseHeaders().set("X-Served-By", name);
        ex.getResponseHeaders().set("Content-Type", body.startsWith("{") ? "application/json" : "text/plain");
        ex.sendResponseHeaders(200, bytes.length);
        try (OutputStream out = ex.getResponseBody()) {
            out.write(bytes);
        }
    }
}
