package io.jseek.server;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;

/**
 * The chat page in headless Chromium (chat-page.mjs says what it checks): the embedded model's first message with
 * the page's defaults, reasoning visible while it streams, markdown without markup from text, a reload keeping the
 * conversation, regenerate, edit, new chat, a styled error, the single-turn note, a 390 px screen; no console
 * errors and no request leaving the server. Screenshots in target/chat-page. Needs node, Debian's chromium and
 * {@code npm install} in src/test/js (.ci/run does all three, and sets JSEEK_REQUIRE_BROWSER=1 so that a
 * missing piece fails instead of skipping).
 */
class ChatPageTest {
    private static final Path JS = Path.of("src/test/js");

    @Test
    void sendingAMessageStreamsTheAnswerIntoThePage() throws Exception {
        String chromium = System.getenv().getOrDefault("CHROMIUM", "/usr/bin/chromium");
        boolean ready = Files.isExecutable(Path.of(chromium)) && Files.isDirectory(JS.resolve("node_modules/playwright-core"))
                && onPath("node");
        if (!ready) {
            String why = "needs node, " + chromium + " and `npm install` in " + JS.toAbsolutePath();
            if ("1".equals(System.getenv("JSEEK_REQUIRE_BROWSER"))) {
                throw new AssertionError(why);
            }
            Assumptions.abort(why);
        }
        Path shots = Path.of("target/chat-page").toAbsolutePath();
        Files.createDirectories(shots);
        try (TestServer ts = new TestServer(List.of(), 2, 512, 1024, 8);
             TestServer embedded = TestServer.embedded()) {
            Process p = new ProcessBuilder("node", "chat-page.mjs", ts.base(), embedded.base(), shots.toString())
                    .directory(JS.toFile()).redirectErrorStream(true).start();
            boolean finished = p.waitFor(240, TimeUnit.SECONDS);
            String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
            if (!finished) {
                p.destroyForcibly();
            }
            assertTrue(finished, "the browser test did not finish: " + out);
            assertEquals(0, p.exitValue(), out);
            assertTrue(out.contains("\"done\":\"true\""), out);
        }
    }

    static boolean onPath(String command) {
        for (String dir : System.getenv().getOrDefault("PATH", "").split(java.io.File.pathSeparator)) {
            if (Files.isExecutable(Path.of(dir, command))) {
                return true;
            }
        }
        return false;
    }
}
