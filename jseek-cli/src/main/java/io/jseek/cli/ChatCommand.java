package io.jseek.cli;

import io.jseek.engine.ChatSession;
import io.jseek.engine.Generation;
import io.jseek.engine.GenerationOptions;
import io.jseek.engine.LoadedModel;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.io.PrintWriter;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.concurrent.Callable;
import org.jline.reader.EndOfFileException;
import org.jline.reader.LineReader;
import org.jline.reader.LineReaderBuilder;
import org.jline.reader.UserInterruptException;
import org.jline.reader.impl.DefaultParser;
import org.jline.terminal.Terminal;
import org.jline.terminal.TerminalBuilder;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/** {@code jseek chat}: an interactive conversation. */
@Command(name = "chat", mixinStandardHelpOptions = true,
        description = {"Talk with the model, turn by turn. Reasoning is shown dimmed, then the answer.", "",
            "Commands: /reset (forget the conversation), /system TEXT (set the system prompt), /help, /exit. "
                + "End a line with \\ to continue on the next. Ctrl-C stops the current answer; Ctrl-D or /exit leaves.",
            "", "When standard input is not a terminal, each input line is one user turn."})
final class ChatCommand implements Callable<Integer> {
    @Spec
    CommandSpec spec;

    @Mixin
    ModelOption modelOption;

    @Mixin
    ThreadsOption threadsOption;

    @Mixin
    GenerationMixin gen;

    @Option(names = "--system", paramLabel = "TEXT", description = "The system prompt.")
    String system;

    @Override
    public Integer call() throws IOException {
        try (LoadedModel m = LoadedModel.open(modelOption.resolve(), threadsOption.threads())) {
            gen.configure(m, threadsOption.threads());
            ChatSession chat = m.chat(gen.plan(m, spec.commandLine().getErr()));
            if (system != null) {
                chat.system(system);
            }
            GenerationOptions options = gen.options(m);
            if (System.console() != null) {
                interactive(m, chat, options);
            } else {
                scripted(chat, options);
            }
        }
        return 0;
    }

    /** Lines from standard input, answers to standard output: for scripts and pipes. */
    private void scripted(ChatSession chat, GenerationOptions options) throws IOException {
        PrintWriter out = spec.commandLine().getOut();
        BufferedReader in = new BufferedReader(new InputStreamReader(System.in, StandardCharsets.UTF_8));
        String line;
        while ((line = in.readLine()) != null) {
            if (!command(line, chat, out)) {
                return;
            }
            if (line.isBlank() || line.startsWith("/")) {
                continue;
            }
            Display d = new Display(out, false);
            Generation g = chat.send(line, options, d);
            d.finish();
            spec.commandLine().getErr().println(Display.stats(g));
        }
    }

    private void interactive(LoadedModel m, ChatSession chat, GenerationOptions options) throws IOException {
        try (Terminal terminal = TerminalBuilder.builder().system(true).build()) {
            Path history = Path.of(System.getProperty("user.home"), ".cache", "jseek", "chat_history");
            DefaultParser parser = new DefaultParser();
            parser.setEofOnEscapedNewLine(true); // a line ending in \ continues on the next
            LineReader reader = LineReaderBuilder.builder().terminal(terminal).parser(parser)
                    .variable(LineReader.HISTORY_FILE, history)
                    .variable(LineReader.SECONDARY_PROMPT_PATTERN, "… ").build();
            PrintWriter out = terminal.writer();
            boolean ansi = !Terminal.TYPE_DUMB.equals(terminal.getType()) && System.getenv("NO_COLOR") == null;
            out.printf("jseek chat: %s (%s%s). /help for commands, Ctrl-D to leave.%n", modelOption.resolve().getFileName(),
                    m.config().architecture().ggufName, modelOption.model == null ? ", the embedded addition model: ask it a sum such as 47+38+95=" : "");
            while (true) {
                String line;
                try {
                    line = reader.readLine("> ").replace("\\\n", "\n");
                } catch (UserInterruptException e) {
                    continue;
                } catch (EndOfFileException e) {
                    break;
                }
                if (!command(line, chat, out)) {
                    break;
                }
                if (line.isBlank() || line.startsWith("/")) {
                    continue;
                }
                Display d = new Display(out, ansi);
                Terminal.SignalHandler previous = terminal.handle(Terminal.Signal.INT, s -> d.cancel = true);
                Generation g;
                try {
                    g = chat.send(line, options, d);
                } finally {
                    terminal.handle(Terminal.Signal.INT, previous);
                }
                d.finish();
                out.println((ansi ? "\u001b[2m" : "") + Display.stats(g) + (ansi ? "\u001b[0m" : ""));
                out.flush();
            }
            reader.getHistory().save();
        }
    }

    /** Handles a /command; returns false to leave. */
    private static boolean command(String line, ChatSession chat, PrintWriter out) {
        String cmd = line.strip();
        if (!cmd.startsWith("/")) {
            return true;
        }
        if (cmd.equals("/exit") || cmd.equals("/quit")) {
            return false;
        }
        if (cmd.equals("/reset")) {
            chat.reset();
            out.println("(conversation cleared)");
        } else if (cmd.startsWith("/system ")) {
            chat.system(cmd.substring("/system ".length()).strip());
            out.println("(system prompt set)");
        } else if (cmd.equals("/help")) {
            out.println("/reset  forget the conversation\n/system TEXT  set the system prompt\n/exit  leave"
                    + "\nEnd a line with \\ to go on on the next line; Ctrl-C stops an answer.");
        } else {
            out.println("unknown command " + cmd.split("\\s+")[0] + " (/help lists them)");
        }
        out.flush();
        return true;
    }
}
