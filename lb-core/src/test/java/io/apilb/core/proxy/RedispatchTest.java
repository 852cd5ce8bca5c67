package io.apilb.core.proxy;

import static org.awaitility.Awaitility.await;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

import io.apilb.core.backend.BackendPool;
import io.apilb.core.backend.ConnectFailure;
import io.apilb.core.config.ApilbConfig;
import io.apilb.core.config.HealthConfig;
import io.apilb.core.config.HealthMode;
import io.apilb.core.config.OnDown;
import io.apilb.core.config.TlsConfig;
import io.apilb.core.testing.TestConfigs;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.concurrent.CopyOnWriteArrayList;

/**
 * Handshake redispatch on real sockets, with plain TCP masters that either never answer or record
 * exactly what they receive: what the next master gets is the client's bytes, once, whole.
 */
class RedispatchTest {
    private static final Duration FIRST_BYTE = Duration.ofMillis(300);

    private final List<Master> masters = new ArrayList<>();
    private ProxyServer proxy;
    private BackendPool pool;

    /** A master that accepts and keeps every connection; it answers only when told to. */
    private static final class Master implements AutoCloseable {
        final ServerSocket server;
        final List<Socket> accepted = new CopyOnWriteArrayList<>();
        final Thread acceptor;
        volatile int expect = -1;
        volatile byte[] received;

        Master() throws IOException {
            server = new ServerSocket(0, 50, InetAddress.getLoopbackAddress());
            acceptor = new Thread(this::acceptLoop, "master-" + server.getLocalPort());
            acceptor.setDaemon(true);
            acceptor.start();
        }

        /** From now on, reads {@code n} bytes of each new connection and answers "ok". */
        Master recording(int n) {
            expect = n;
            return this;
        }

        private void acceptLoop() {
            while (!server.isClosed()) {
                try {
                    Socket s = server.accept();
                    accepted.add(s);
                    if (expect >= 0) {
                        received = s.getInputStream().readNBytes(expect);
                        s.getOutputStream().write("ok".getBytes(StandardCharsets.US_ASCII));
                        s.getOutputStream().flush();
                    }
                } catch (IOException e) {
                    return;
                }
            }
        }

        /** Answers every connection still open. */
        void thaw() throws IOException {
            for (Socket s : accepted) {
                if (!s.isClosed()) {
                    try {
                        s.getOutputStream().write("ok".getBytes(StandardCharsets.US_ASCII));
                        s.getOutputStream().flush();
                    } catch (IOException e) {
                        // Closed by the proxy: that attempt was abandoned.
                    }
                }
            }
        }

        String hostPort() {
            return "127.0.0.1:" + server.getLocalPort();
        }

        @Override
        public void close() throws IOException {
            server.close();
            for (Socket s : accepted) {
                s.close();
            }
        }
    }

    @AfterEach
    void tearDown() throws IOException {
        if (proxy != null) {
            proxy.close();
        }
        for (Master m : masters) {
            m.close();
        }
    }

    private Master master() throws IOException {
        Master m = new Master();
        masters.add(m);
        return m;
    }

    private InetSocketAddress start(int retries) {
        TestConfigs c = TestConfigs.builder().retries(retries).firstByte(FIRST_BYTE)
                .health(new HealthConfig(false, HealthMode.TCP, "/readyz", List.of(200), Duration.ofSeconds(2),
                        Duration.ofSeconds(1), 2, 2, OnDown.CLOSE, true, 0, TlsConfig.DEFAULTS));
        masters.forEach(m -> c.backend("m" + (masters.indexOf(m) + 1), m.hostPort(), 1));
        ApilbConfig config = c.build();
        pool = new BackendPool(config.backends());
        proxy = new ProxyServer(pool);
        proxy.start(config);
        return proxy.boundAddresses().get(0);
    }

    @Test
    void theNextMasterGetsTheClientsBytesExactlyOnceEvenWhenTheyCameInSeveralSegments() throws Exception {
        Master silent = master();
        byte[] flight = new byte[5_000];
        new Random(7).nextBytes(flight);
        Master answering = master().recording(flight.length);
        InetSocketAddress address = start(2);

        try (Socket client = new Socket(address.getAddress(), address.getPort())) {
            client.setSoTimeout(5_000);
            client.setTcpNoDelay(true);
            OutputStream out = client.getOutputStream();
            // Three segments: the first starts the dial, the second arrives while dialling, the
            // third once connected and before the silent master's deadline.
            out.write(flight, 0, 1_000);
            out.flush();
            Thread.sleep(20);
            out.write(flight, 1_000, 1_500);
            out.flush();
            Thread.sleep(100);
            out.write(flight, 2_500, 2_500);
            out.flush();
            InputStream in = client.getInputStream();
            assertEquals("ok", new String(in.readNBytes(2), StandardCharsets.US_ASCII));
        }
        assertArrayEquals(sha256(flight), sha256(answering.received), "byte for byte, once");
        assertEquals(1, answering.accepted.size());
        assertEquals(1, silent.accepted.size());
        assertEquals(1, pool.get("m1").stats().connectFailures(ConnectFailure.FIRST_BYTE_TIMEOUT));
        assertEquals(flight.length, pool.get("m2").stats().bytesIn());
    }

    @Test
    void withEveryMasterFrozenAttemptsStayWithinRetriesAndTheLastOneWaitsUntilAMasterThaws() throws Exception {
        master();
        master();
        master();
        InetSocketAddress address = start(2);

        try (Socket client = new Socket(address.getAddress(), address.getPort())) {
            client.setSoTimeout(10_000);
            client.getOutputStream().write("hello".getBytes(StandardCharsets.US_ASCII));
            client.getOutputStream().flush();
            await().atMost(Duration.ofSeconds(5)).until(() -> accepted() == 3);
            // One try and two retries, then the last one waits: no replay storm.
            await().during(FIRST_BYTE.multipliedBy(5)).atMost(FIRST_BYTE.multipliedBy(10))
                    .until(() -> accepted() == 3);
            for (Master m : masters) {
                m.thaw();
            }
            assertEquals("ok", new String(client.getInputStream().readNBytes(2), StandardCharsets.US_ASCII),
                    "served once a master answers");
        }
    }

    private int accepted() {
        return masters.stream().mapToInt(m -> m.accepted.size()).sum();
    }

    private static byte[] sha256(byte[] bytes) throws Exception {
        return MessageDigest.getInstance("SHA-256").digest(bytes);
    }
}
