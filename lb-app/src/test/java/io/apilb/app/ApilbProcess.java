package io.apilb.app;

import static org.awaitility.Awaitility.await;

import java.io.File;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * The shaded jar run as a real process, for tests of signals, exit codes and output. Public for
 * the ops tests, which run it inside network namespaces.
 */
public final class ApilbProcess implements AutoCloseable {
    private final Process process;
    private final Path output;

    private ApilbProcess(Process process, Path output) {
        this.process = process;
        this.output = output;
    }

    public static ApilbProcess start(Path workDir, String... args) throws IOException {
        return start(List.of(), workDir, args);
    }

    /**
     * Runs the jar behind {@code launcher}, a command that execs its arguments in place (so the
     * pid stays the JVM's), e.g. {@code ip netns exec NAME}. Output goes to {@code workDir/apilb.out}.
     */
    public static ApilbProcess start(List<String> launcher, Path workDir, String... args) throws IOException {
        String jar = System.getProperty("apilb.jar", "target/apilb.jar");
        if (!new File(jar).isFile()) {
            throw new IllegalStateException("no runnable jar at " + jar + " (run mvn package first)");
        }
        List<String> cmd = new ArrayList<>(launcher);
        cmd.addAll(List.of(Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                "-Xmx256m", "-jar", jar));
        cmd.addAll(List.of(args));
        Path out = workDir.resolve("apilb.out");
        Process p = new ProcessBuilder(cmd).redirectErrorStream(true).redirectOutput(out.toFile())
                .redirectInput(ProcessBuilder.Redirect.PIPE).start();
        return new ApilbProcess(p, out);
    }

    public String output() {
        try {
            return Files.readString(output, StandardCharsets.UTF_8);
        } catch (IOException e) {
            return "";
        }
    }

    public long pid() {
        return process.pid();
    }

    /** Sends a signal by name to this process only. */
    public void signal(String name) throws IOException, InterruptedException {
        new ProcessBuilder("kill", "-" + name, Long.toString(process.pid())).start().waitFor(5, TimeUnit.SECONDS);
    }

    public int waitForExit(Duration timeout) throws InterruptedException {
        if (!process.waitFor(timeout.toMillis(), TimeUnit.MILLISECONDS)) {
            throw new IllegalStateException("apilb did not exit within " + timeout + "; output:\n" + output());
        }
        return process.exitValue();
    }

    public boolean alive() {
        return process.isAlive();
    }

    static void awaitListening(InetSocketAddress address, Duration timeout) {
        await().atMost(timeout).pollInterval(Duration.ofMillis(50)).ignoreExceptions().until(() -> {
            try (Socket s = new Socket(address.getAddress(), address.getPort())) {
                return true;
            }
        });
    }

    static int freePort() throws IOException {
        try (java.net.ServerSocket s = new java.net.ServerSocket(0, 1, java.net.InetAddress.getLoopbackAddress())) {
            return s.getLocalPort();
        }
    }

    @Override
    public void close() throws InterruptedException {
        if (process.isAlive()) {
            process.destroyForcibly().waitFor(10, TimeUnit.SECONDS);
        }
    }
}
