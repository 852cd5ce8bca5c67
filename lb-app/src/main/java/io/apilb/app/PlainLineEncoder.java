package io.apilb.app;

import ch.qos.logback.classic.spi.ILoggingEvent;
import ch.qos.logback.classic.spi.IThrowableProxy;
import ch.qos.logback.classic.spi.StackTraceElementProxy;
import ch.qos.logback.core.encoder.EncoderBase;

import org.slf4j.helpers.MessageFormatter;

import java.nio.charset.StandardCharsets;
import java.time.Instant;
import java.time.ZoneId;
import java.time.format.DateTimeFormatter;

/**
 * The plain log format, one line per event: time with offset, level, the logger's last name and
 * the message, e.g. {@code 2026-01-02T10:00:00.000+01:00 WARN  VerdictPublisher backend=m1 health UP
 * -> DOWN check=L7STS error="HTTP 500: say \"hi\"" connections=keep (answers, not ready)}, then the
 * stack trace when there is one.
 *
 * <p>Every argument of the message is a value that may come from outside: a probe's error text
 * (the start of a master's response body), a backend name from a file, an address a client chose.
 * Each is written with {@link #escape} ({@code \}, {@code "} and control characters escaped), so a
 * value cannot end its quotes, start a line of its own or drive the terminal that reads the log.
 * Control characters in the rest of the message, and in exception messages (a TLS or decoder
 * error may quote what a peer sent), are escaped too, whatever put them there. JSON
 * ({@link JsonLineEncoder}) needs none of this: its writer escapes every string.
 *
 * <p>Runs on the thread that writes stdout; the arguments are text by then (see
 * {@link BatchingStdoutAppender}).
 */
final class PlainLineEncoder extends EncoderBase<ILoggingEvent> {
    private static final byte[] NOTHING = new byte[0];
    private static final DateTimeFormatter TIME =
            DateTimeFormatter.ofPattern("yyyy-MM-dd'T'HH:mm:ss.SSSXXX").withZone(ZoneId.systemDefault());
    private static final char[] HEX = "0123456789abcdef".toCharArray();
    private static final String NL = System.lineSeparator();

    @Override
    public byte[] headerBytes() {
        return NOTHING;
    }

    @Override
    public byte[] encode(ILoggingEvent event) {
        StringBuilder line = new StringBuilder(160);
        TIME.formatTo(Instant.ofEpochMilli(event.getTimeStamp()), line);
        String level = event.getLevel().toString();
        line.append(' ').append(level).append(" ".repeat(Math.max(0, 5 - level.length()))).append(' ');
        String logger = event.getLoggerName();
        line.append(logger, logger.lastIndexOf('.') + 1, logger.length()).append(' ');
        appendControlsEscaped(line, message(event));
        line.append(NL);
        IThrowableProxy t = event.getThrowableProxy();
        if (t != null) {
            appendThrowable(line, t, "", "");
        }
        return line.toString().getBytes(StandardCharsets.UTF_8);
    }

    @Override
    public byte[] footerBytes() {
        return NOTHING;
    }

    private static String message(ILoggingEvent event) {
        Object[] args = event.getArgumentArray();
        if (args == null || args.length == 0) {
            return event.getFormattedMessage();
        }
        Object[] escaped = new Object[args.length];
        for (int i = 0; i < args.length; i++) {
            escaped[i] = args[i] instanceof Number ? args[i] : escape(String.valueOf(args[i]));
        }
        return MessageFormatter.basicArrayFormat(event.getMessage(), escaped);
    }

    /**
     * A value as it may appear inside quotes on one line: {@code \} and {@code "} escaped with a
     * backslash; newline, carriage return and tab as {@code \n}, {@code \r}, {@code \t}; every other
     * control character, line or paragraph separator and invisible format character (bidi overrides)
     * as {@code \}{@code uXXXX}, e.g. ESC as {@code \}{@code u001b}.
     */
    static String escape(String value) {
        StringBuilder sb = null;
        for (int i = 0; i < value.length(); i++) {
            char c = value.charAt(i);
            if (c != '\\' && c != '"' && !isControl(c)) {
                if (sb != null) {
                    sb.append(c);
                }
                continue;
            }
            if (sb == null) {
                sb = new StringBuilder(value.length() + 16).append(value, 0, i);
            }
            if (c == '\\' || c == '"') {
                sb.append('\\').append(c);
            } else {
                appendControl(sb, c);
            }
        }
        return sb == null ? value : sb.toString();
    }

    /** The JDK's stack trace layout, with each message on its one line. */
    private static void appendThrowable(StringBuilder sb, IThrowableProxy t, String prefix, String indent) {
        sb.append(indent).append(prefix).append(t.getClassName());
        if (t.getMessage() != null) {
            sb.append(": ");
            appendControlsEscaped(sb, t.getMessage());
        }
        sb.append(NL);
        StackTraceElementProxy[] frames = t.getStackTraceElementProxyArray();
        for (int i = 0; i < frames.length - t.getCommonFrames(); i++) {
            sb.append(indent).append('\t').append(frames[i].getSTEAsString()).append(NL);
        }
        if (t.getCommonFrames() > 0) {
            sb.append(indent).append("\t... ").append(t.getCommonFrames()).append(" common frames omitted").append(NL);
        }
        for (IThrowableProxy suppressed : t.getSuppressed()) {
            appendThrowable(sb, suppressed, "Suppressed: ", indent + '\t');
        }
        if (t.getCause() != null) {
            appendThrowable(sb, t.getCause(), "Caused by: ", indent);
        }
    }

    private static void appendControlsEscaped(StringBuilder line, String text) {
        for (int i = 0; i < text.length(); i++) {
            char c = text.charAt(i);
            if (isControl(c)) {
                appendControl(line, c);
            } else {
                line.append(c);
            }
        }
    }

    private static boolean isControl(char c) {
        if (c < 0x20 || c >= 0x7f && c <= 0x9f) {
            return true;
        }
        if (c < 0xa0) {
            return false;
        }
        int type = Character.getType(c);
        return type == Character.FORMAT || type == Character.LINE_SEPARATOR || type == Character.PARAGRAPH_SEPARATOR;
    }

    private static void appendControl(StringBuilder sb, char c) {
        switch (c) {
            case '\n' -> sb.append("\\n");
            case '\r' -> sb.append("\\r");
            case '\t' -> sb.append("\\t");
            default -> sb.append("\\u").append(HEX[c >> 12 & 0xf]).append(HEX[c >> 8 & 0xf])
                    .append(HEX[c >> 4 & 0xf]).append(HEX[c & 0xf]);
        }
    }
}
