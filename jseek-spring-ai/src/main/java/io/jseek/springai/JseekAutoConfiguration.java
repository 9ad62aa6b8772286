package io.jseek.springai;

import io.jseek.model.hub.HubClient;
import org.springframework.ai.chat.model.ChatModel;
import org.springframework.ai.chat.prompt.ChatOptions;
import org.springframework.boot.autoconfigure.AutoConfiguration;
import org.springframework.boot.autoconfigure.condition.ConditionalOnMissingBean;
import org.springframework.boot.autoconfigure.condition.ConditionalOnProperty;
import org.springframework.boot.context.properties.EnableConfigurationProperties;
import org.springframework.context.annotation.Bean;

/**
 * Spring Boot auto-configuration: with {@code jseek.model} set, a {@link JseekChatModel} bean (Spring AI's
 * {@link ChatModel}) on that model, loaded at start-up and freed when the context closes, unless the application
 * defines its own ChatModel. Options: {@link JseekProperties}.
 */
@AutoConfiguration
@ConditionalOnProperty(prefix = "jseek", name = "model")
@EnableConfigurationProperties(JseekProperties.class)
public class JseekAutoConfiguration {
    @Bean
    @ConditionalOnMissingBean(ChatModel.class)
    public JseekChatModel jseekChatModel(JseekProperties p) {
        ChatOptions defaults = ChatOptions.builder().temperature(p.temperature()).topP(p.topP()).topK(p.topK())
                .maxTokens(p.maxTokens()).build();
        int threads = p.threads() != null ? p.threads() : Math.max(1, Runtime.getRuntime().availableProcessors());
        return JseekChatModel.open(HubClient.localPath(p.model(), HubClient.Progress.NONE), threads, defaults,
                p.contextLength(), p.seed());
    }
}
