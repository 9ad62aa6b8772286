package io.jseek.cli;

import io.jseek.core.JseekException;
import java.io.FileDescriptor;
import java.io.FileOutputStream;
import java.io.IOException;
import java.io.PrintStream;
import java.io.PrintWriter;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Spec;

/** The {@code jseek} command line. */
@Command(name = "jseek",
        mixinStandardHelpOptions = true,
        versionProvider = Main.Version.class,
        subcommands = {RunCommand.class, ChatCommand.class, ServeCommand.class, TrainCommands.Train.class, TrainCommands.GrpoCmd.class, TrainCommands.Distill.class, TrainCommands.Export.class, InfoCommand.class, PullCommand.class, ConvertCommand.Convert.class, ConvertCommand.Quantize.class, CacheCommands.ListCmd.class, CacheCommands.RmCmd.class, TokenizeCommand.class, LogitsCommand.class, BenchCommand.class, CommandLine.HelpCommand.class},
        description = {
            "jseek: DeepSeek models (V2, V3, V3.2, R1 and the R1 distills) in pure Java, from GGUF files, Hugging Face directories or the Hub.",
            "",
            "Without -m, commands use the embedded default model: jseek's own 1M-parameter DeepSeek-architecture model, "
                + "trained with the R1 recipe to add numbers (ask it 47+38+95=)."},
        footer = {"", "Run 'jseek help COMMAND' or 'jseek COMMAND --help' for a command's options."})
public final class Main implements Runnable {
    @Spec
    CommandSpec spec;

    @Override
    public void run() {
        spec.commandLine().usage(spec.commandLine().getOut());
    }

    public static void main(String[] args) {
        PrintStream out = new PrintStream(new FileOutputStream(FileDescriptor.out), false, StandardCharsets.UTF_8);
        PrintStream err = new PrintStream(new FileOutputStream(FileDescriptor.err), true, StandardCharsets.UTF_8);
        int code = run(args, out, err);
        out.flush();
        System.exit(code);
    }

    /** Runs the command line; returns the exit code (0 ok, 1 failed, 2 bad usage). */
    public static int run(String[] args, PrintStream out, PrintStream err) {
        if (io.jseek.core.VectorApi.takeScalarWarning()) {
            err.println("jseek: warning: " + io.jseek.core.VectorApi.scalarWarning());
        }
        CommandLine cl = new CommandLine(new Main());
        // Enum options in any case: llama.cpp users write --cache-type q8_0 as they write -ctk q8_0.
        cl.setCaseInsensitiveEnumValuesAllowed(true);
        cl.setOut(new PrintWriter(out, true));
        cl.setErr(new PrintWriter(err, true));
        cl.setExecutionExceptionHandler((ex, cmd, parseResult) -> {
            if (ex instanceof JseekException || ex instanceof UncheckedIOException || ex instanceof IOException
                    || ex instanceof IllegalArgumentException) {
                String msg = ex instanceof UncheckedIOException u ? u.getCause().toString()
                        : ex instanceof IOException ? ex.toString() : ex.getMessage();
                cmd.getErr().println("jseek " + cmd.getCommandName() + ": error: " + msg);
                return 1;
            }
            throw ex;
        });
        int code = cl.execute(args);
        out.flush();
        return code;
    }

    static final class Version implements CommandLine.IVersionProvider {
        @Override
        public String[] getVersion() {
            String v = Main.class.getPackage().getImplementationVersion();
            return new String[] {"jseek " + (v == null ? "(development build)" : v),
                "Java " + Runtime.version() + " (" + System.getProperty("java.vm.name") + ")"};
        }
    }
}
