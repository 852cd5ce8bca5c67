package io.apilb.app.ops;

import static org.awaitility.Awaitility.await;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.github.dockerjava.api.DockerClient;
import com.github.dockerjava.api.command.InspectContainerResponse;
import io.apilb.core.testing.TestApiServer;
import io.apilb.core.testing.TestPki;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.testcontainers.containers.BindMode;
import org.testcontainers.containers.Container;
import org.testcontainers.containers.GenericContainer;
import org.testcontainers.containers.startupcheck.StartupCheckStrategy;
import org.testcontainers.containers.wait.strategy.Wait;

import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Duration;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * The image built from {@code docker/Dockerfile} (see {@link ApilbImage}) run as users run it,
 * always with a read-only root file system (with a config, nothing is writable at all, not even
 * {@code /tmp}): the demo with nothing mounted, a mounted config in
 * front of masters this test runs, a broken mounted config, and arguments (check-config). Checks the image's HEALTHCHECK,
 * that SIGTERM from the engine's stop reaches the JVM and ends it gracefully with exit 0 within
 * the stop timeout, and that the process runs as uid 10001.
 */
class ContainerIT {
    private static final Pattern CA_FILE = Pattern.compile("--cacert (\\S+)");
    private static final String STARTED = ".*apilb started.*";

    @TempDir
    Path dir;

    @AfterAll
    static void removeImage() {
        ApilbImage.remove();
    }

    @Test
    void demoServesThroughThePublishedPortIsHealthyAndStopsGracefully() throws Exception {
        try (GenericContainer<?> demo = new GenericContainer<>(ApilbImage.name())
                .withExposedPorts(6443)
                // The demo writes its CA file to /tmp; nothing else is written.
                .withTmpFs(Map.of("/tmp", "rw,size=16m"))
                .withCreateContainerCmdModifier(c -> c.getHostConfig().withReadonlyRootfs(true))
                .waitingFor(Wait.forLogMessage(STARTED, 1).withStartupTimeout(Duration.ofMinutes(2)))) {
            demo.start();

            await("the image's health check passes").atMost(Duration.ofSeconds(30))
                    .until(() -> ApilbImage.healthCheck(demo).exit() == 0);
            assertRunsAsApilbUser(demo);
            assertRootIsReadOnly(demo);

            Matcher ca = CA_FILE.matcher(demo.getLogs());
            assertTrue(ca.find(), "the demo prints its CA file:\n" + demo.getLogs());
            Path caCopy = dir.resolve("demo-ca.crt");
            demo.copyFileFromContainer(ca.group(1), caCopy.toString());
            String caPem = Files.readString(caCopy);
            InetSocketAddress published = new InetSocketAddress(demo.getHost(), demo.getMappedPort(6443));
            Set<String> servedBy = new TreeSet<>();
            for (int i = 0; i < 6; i++) {
                TlsGet.Response r = TlsGet.get(published, caPem, "/version", Duration.ofSeconds(5));
                assertEquals(200, r.status(), r.head());
                servedBy.add(header(r.head(), "x-served-by"));
            }
            assertEquals(3, servedBy.size(), "round robin over the three demo masters: " + servedBy);

            assertStopsGracefully(demo);
        }
    }

    @Test
    void mountedConfigIsRunAndHealthFollowsTheMasters() throws Exception {
        String image = ApilbImage.name();
        try (TestApiServer m1 = TestApiServer.start("m1"); TestApiServer m2 = TestApiServer.start("m2")) {
            int listen = freePort();
            int admin = freePort();
            Path config = mountable("apilb.yaml", """
                    listeners:
                      - { name: apiserver, address: 127.0.0.1:%d }
                    backends:
                      - { name: m1, address: %s }
                      - { name: m2, address: %s }
                    health: { interval: 300ms, timeout: 250ms, rise: 1, fall: 1, tls: { insecure: true } }
                    admin: { address: 127.0.0.1:%d }
                    shutdownGrace: 5s
                    """.formatted(listen, m1.hostPort(), m2.hostPort(), admin));
            // The host's network: the masters listen on its loopback, and so do the balancer and
            // the admin port the health check asks.
            try (GenericContainer<?> lb = new GenericContainer<>(image)
                    .withNetworkMode("host")
                    .withFileSystemBind(config.toString(), "/etc/apilb/apilb.yaml", BindMode.READ_ONLY)
                    .withEnv("APILB_HEALTHCHECK_ADDRESS", "127.0.0.1:" + admin)
                    // Nothing writable at all, not even /tmp (an engine may put a writable tmpfs
                    // there on a read-only root; a read-only one takes its place).
                    .withTmpFs(Map.of("/tmp", "ro"))
                    .withCreateContainerCmdModifier(c -> c.getHostConfig().withReadonlyRootfs(true))
                    .waitingFor(Wait.forLogMessage(STARTED, 1).withStartupTimeout(Duration.ofMinutes(2)))) {
                lb.start();
                assertTrue(lb.getLogs().contains("2 backends"), lb.getLogs());
                assertRunsAsApilbUser(lb);
                assertRootIsReadOnly(lb);
                Container.ExecResult tmp = lb.execInContainer("touch", "/tmp/written");
                assertTrue(tmp.getStderr().contains("Read-only file system"), tmp.getStdout() + tmp.getStderr());
                // Netty's native transport and BoringSSL load from the runtime's lib/native,
                // with nowhere to unpack them.
                assertTrue(lb.getLogs().contains("(epoll)") && lb.getLogs().contains("tls=OPENSSL"), lb.getLogs());

                await("healthy with both masters up").atMost(Duration.ofSeconds(30))
                        .until(() -> ApilbImage.healthCheck(lb).exit() == 0);
                InetSocketAddress balancer = new InetSocketAddress("127.0.0.1", listen);
                String caPem = TestPki.ca().getCertificatePEM();
                Set<String> servedBy = new TreeSet<>();
                for (int i = 0; i < 4; i++) {
                    TlsGet.Response r = TlsGet.get(balancer, caPem, "/version", Duration.ofSeconds(5));
                    assertEquals(200, r.status(), r.head());
                    servedBy.add(r.body().contains("\"m1\"") ? "m1" : r.body().contains("\"m2\"") ? "m2" : r.body());
                }
                assertEquals(Set.of("m1", "m2"), servedBy, "both masters of the mounted config serve");

                m1.stop();
                m2.stop();
                await("unhealthy with every master stopped").atMost(Duration.ofSeconds(30))
                        .until(() -> ApilbImage.healthCheck(lb).exit() != 0);
                Commands.Result unhealthy = ApilbImage.healthCheck(lb);
                assertTrue(unhealthy.output().contains("unhealthy") || unhealthy.output().contains("503"),
                        unhealthy.output());

                assertStopsGracefully(lb);
            }
        }
    }

    @Test
    void brokenMountedConfigExitsNonZeroNamingTheKeyAndLine() throws Exception {
        String image = ApilbImage.name();
        Path config = mountable("broken.yaml", """
                listeners:
                  - { name: apiserver, address: 0.0.0.0:6443 }
                backends:
                  - { name: m1, address: 127.0.0.1:70000 }
                """);
        try (GenericContainer<?> lb = new GenericContainer<>(image)
                .withFileSystemBind(config.toString(), "/etc/apilb/apilb.yaml", BindMode.READ_ONLY)
                .withCreateContainerCmdModifier(c -> c.getHostConfig().withReadonlyRootfs(true))
                .withStartupCheckStrategy(new ExitedStartupCheck().withTimeout(Duration.ofMinutes(1)))) {
            lb.start();
            Long exit = ApilbImage.client().inspectContainerCmd(lb.getContainerId()).exec().getState()
                    .getExitCodeLong();
            String logs = lb.getLogs();
            assertNotEquals(0L, exit, logs);
            assertTrue(logs.contains("backends[0].address") && logs.contains("(line 4)"), logs);
        }
    }

    @Test
    void argumentsAreApilbsOwn() throws Exception {
        String image = ApilbImage.name();
        try (GenericContainer<?> check = new GenericContainer<>(image)
                .withFileSystemBind(RepoFiles.config("minimal.yaml").toString(), "/etc/apilb/apilb.yaml",
                        BindMode.READ_ONLY)
                .withCommand("check-config", "/etc/apilb/apilb.yaml")
                .withCreateContainerCmdModifier(c -> c.getHostConfig().withReadonlyRootfs(true))
                .withStartupCheckStrategy(new ExitedStartupCheck().withTimeout(Duration.ofMinutes(1)))) {
            check.start();
            Long exit = ApilbImage.client().inspectContainerCmd(check.getContainerId()).exec().getState()
                    .getExitCodeLong();
            assertEquals(0L, exit, check.getLogs());
            assertTrue(check.getLogs().contains("OK: /etc/apilb/apilb.yaml"), check.getLogs());
        }
    }

    /** PID 1 is the JVM itself (so it gets the stop signal) and runs as uid 10001. */
    private static void assertRunsAsApilbUser(GenericContainer<?> c) throws Exception {
        Container.ExecResult status = c.execInContainer("cat", "/proc/1/status");
        assertTrue(status.getStdout().contains("Name:\tjava"), status.getStdout());
        assertTrue(status.getStdout().matches("(?s).*\nUid:\t10001\t10001\t10001\t10001\n.*"), status.getStdout());
    }

    private static void assertRootIsReadOnly(GenericContainer<?> c) throws Exception {
        Container.ExecResult touch = c.execInContainer("touch", "/opt/apilb/written");
        assertTrue(touch.getStderr().contains("Read-only file system"), touch.getStdout() + touch.getStderr());
    }

    /** The engine's stop (SIGTERM) ends apilb's graceful shutdown with exit 0, before the SIGKILL. */
    private static void assertStopsGracefully(GenericContainer<?> c) {
        long start = System.nanoTime();
        long exit = ApilbImage.stop(c);
        Duration took = Duration.ofNanos(System.nanoTime() - start);
        String logs = c.getLogs();
        assertEquals(0L, exit, logs);
        assertTrue(took.compareTo(ApilbImage.STOP_TIMEOUT) < 0, "stopped after " + took);
        assertTrue(logs.contains("received SIGTERM") && logs.contains("shutting down")
                && logs.contains("apilb stopped"), logs);
    }

    /** A file the container's user (uid 10001) can read through a read-only bind mount. */
    private Path mountable(String name, String content) throws IOException {
        Path file = Files.writeString(dir.resolve(name), content);
        Files.setPosixFilePermissions(file, PosixFilePermissions.fromString("rw-r--r--"));
        Files.setPosixFilePermissions(dir, PosixFilePermissions.fromString("rwxr-xr-x"));
        return file;
    }

    private static int freePort() throws IOException {
        try (ServerSocket s = new ServerSocket(0, 1, java.net.InetAddress.getLoopbackAddress())) {
            return s.getLocalPort();
        }
    }

    private static String header(String head, String name) {
        for (String line : head.split("\r\n")) {
            if (line.toLowerCase(Locale.ROOT).startsWith(name + ":")) {
                return line.substring(line.indexOf(':') + 1).strip();
            }
        }
        throw new AssertionError("no " + name + " header in:\n" + head);
    }

    /** Started = already exited: for a container that is expected to refuse to run. */
    private static final class ExitedStartupCheck extends StartupCheckStrategy {
        @Override
        public StartupStatus checkStartupState(DockerClient client, String id) {
            InspectContainerResponse.ContainerState state = getCurrentState(client, id);
            return Boolean.TRUE.equals(state.getRunning()) ? StartupStatus.NOT_YET_KNOWN : StartupStatus.SUCCESSFUL;
        }
    }
}
