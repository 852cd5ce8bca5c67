package io.apilb.app;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ch.qos.logback.classic.Level;
import ch.qos.logback.classic.LoggerContext;
import ch.qos.logback.classic.spi.LoggingEvent;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

import java.nio.charset.StandardCharsets;

class PlainLineEncoderTest {
    private final LoggerContext context = new LoggerContext();

    @ParameterizedTest(name = "[{index}] {2}")
    @CsvSource(delimiter = '|', textBlock = """
            0022           | \\"                  | double quote
            005c           | \\\\                  | backslash, so an escape cannot be forged
            000a           | \\n                  | newline
            000d           | \\r                  | carriage return
            0009           | \\t                  | tab
            001b           | \\u001b              | ESC, starts a terminal escape sequence
            0000           | \\u0000              | NUL
            007f           | \\u007f              | DEL
            009b           | \\u009b              | C1 control sequence introducer
            2028           | \\u2028              | line separator
            202e           | \\u202e              | right-to-left override
            0041           | A                    | plain letter stays
            00e9           | é                    | accented letter stays
            """)
    void escapesEachCharacterThatCouldBreakALine(String hex, String expected, String what) {
        String c = Character.toString(Integer.parseInt(hex, 16));
        assertEquals("x" + expected + "y", PlainLineEncoder.escape("x" + c + "y"), what);
    }

    @Test
    void writesAProbeErrorWithQuotesNewlineAndEscapeOnOneEscapedLine() {
        String body = "HTTP 500: say \"hi\"\n\u001b[31mred";
        String line = encode("backend={} health UP -> DOWN check={} error=\"{}\" connections={}",
                "master1", "L7STS", body, "keep");
        assertTrue(line.endsWith(" WARN  VerdictPublisher backend=master1 health UP -> DOWN check=L7STS"
                + " error=\"HTTP 500: say \\\"hi\\\"\\n\\u001b[31mred\" connections=keep" + System.lineSeparator()), line);
        assertEquals(1, line.split("\n", -1).length - 1, "exactly one line: " + line);
    }

    @Test
    void escapesControlCharactersInTheMessageItselfButKeepsItsQuotes() {
        String line = encode("refused: \"a\"\nforged line\u001b[2J", (Object[]) null);
        assertTrue(line.endsWith(" refused: \"a\"\\nforged line\\u001b[2J" + System.lineSeparator()), line);
    }

    @Test
    void keepsNumbersAndWritesTimeLevelAndLoggerName() {
        String line = encode("conn={} bytes_in={}", 7L, 1234);
        assertTrue(line.matches("\\d{4}-\\d\\d-\\d\\dT\\d\\d:\\d\\d:\\d\\d\\.\\d{3}(Z|[+-]\\d\\d:\\d\\d)"
                + " WARN  VerdictPublisher conn=7 bytes_in=1234\\R"), line);
    }

    @Test
    void escapesExceptionMessagesAndKeepsTheStackTraceLayout() {
        Exception e = new IllegalStateException("outer", new javax.net.ssl.SSLException("peer said \"x\"\n\u001b[2J"));
        String text = encode(e, "probe failed");
        String[] lines = text.split("\\R");
        assertTrue(lines[0].endsWith(" probe failed"), text);
        assertEquals("java.lang.IllegalStateException: outer", lines[1], text);
        assertTrue(lines[2].startsWith("\tat io.apilb.app.PlainLineEncoderTest."), text);
        assertTrue(text.contains(System.lineSeparator() + "Caused by: javax.net.ssl.SSLException: peer said \"x\"\\n\\u001b[2J"
                + System.lineSeparator() + "\t... "), text);
        assertTrue(text.endsWith(" common frames omitted" + System.lineSeparator()), text);
    }

    private String encode(String pattern, Object... args) {
        return encode(null, pattern, args);
    }

    private String encode(Throwable thrown, String pattern, Object... args) {
        LoggingEvent event = new LoggingEvent(PlainLineEncoderTest.class.getName(),
                context.getLogger("io.apilb.health.VerdictPublisher"), Level.WARN, pattern, thrown, args);
        PlainLineEncoder encoder = new PlainLineEncoder();
        encoder.setContext(context);
        encoder.start();
        return new String(encoder.encode(event), StandardCharsets.UTF_8);
    }
}
