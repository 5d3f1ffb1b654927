import Foundation

/// Written-out phrases of the generated mail, per language. `{first}` is the recipient's first
/// name, `{sender}` the sender's, `{project}`, `{ticket}`, `{deadline}`, `{amount}` fill in.
enum MailCorpus {
    /// A subject and a body.
    struct Template: Sendable {
        let subject: String
        let body: String
    }

    static let projects = [
        "Apollo", "Falcon migration", "Q3 forecast", "customer portal", "Helios rollout", "data retention review", "onboarding revamp",
        "SSO integration", "billing v2", "mobile release 4.2",
    ]

    static let deadlines: [Language: [String]] = [
        .en: ["by Friday", "by end of day tomorrow", "before Monday's review", "by the 15th", "this week"],
        .de: ["bis Freitag", "bis morgen Abend", "vor dem Review am Montag", "bis zum 15.", "diese Woche noch"],
        .fr: ["d'ici vendredi", "avant demain soir", "avant la revue de lundi", "d'ici le 15", "cette semaine"],
        .es: ["antes del viernes", "para mañana por la tarde", "antes de la revisión del lunes", "antes del día 15", "esta semana"],
        .ja: ["金曜日までに", "明日の夕方までに", "月曜日のレビュー前に", "15日までに", "今週中に"],
    ]

    /// Requests and direct questions, with a deadline.
    static let requests: [Language: [Template]] = [
        .en: [
            Template(
                subject: "Can you review the {project} proposal {deadline}?",
                body:
                    "Hi {first},\n\nCould you take a look at the {project} proposal and send me your comments {deadline}? The draft is in the shared folder.\n\nThanks,\n{sender}"
            ),
            Template(
                subject: "Quick question about {ticket}",
                body:
                    "Hi {first},\n\nDo you know whether {ticket} is blocked by the {project} work? I need to give the customer an answer {deadline}.\n\nBest,\n{sender}"
            ),
            Template(
                subject: "Need the updated numbers {deadline}",
                body:
                    "Hello {first},\n\nFinance asked for the updated {project} numbers. Can you send them {deadline}? A rough estimate is fine for now.\n\nCheers,\n{sender}"
            ),
            Template(
                subject: "Are you available for a call about {project}?",
                body: "Hi {first},\n\nAre you free for 30 minutes {deadline} to go through the open points on {project}?\n\n{sender}"
            ),
        ],
        .de: [
            Template(
                subject: "Kannst du dir den Entwurf zu {project} ansehen?",
                body:
                    "Hallo {first},\n\nkönntest du dir bitte den Entwurf zu {project} ansehen und mir {deadline} Feedback geben? Die Datei liegt im gemeinsamen Ordner.\n\nDanke und viele Grüße\n{sender}"
            ),
            Template(
                subject: "Frage zu {ticket}",
                body:
                    "Hallo {first},\n\nweißt du, ob {ticket} noch an {project} hängt? Ich muss dem Kunden {deadline} Bescheid geben.\n\nGruß\n{sender}"
            ),
            Template(
                subject: "Bitte um Freigabe: Angebot {project}",
                body:
                    "Hallo {first},\n\nanbei die Zusammenfassung für das Angebot zu {project} über {amount} EUR. Kannst du es {deadline} freigeben?\n\nBeste Grüße\n{sender}"
            ),
        ],
        .fr: [
            Template(
                subject: "Peux-tu relire la proposition {project} ?",
                body:
                    "Bonjour {first},\n\nPourrais-tu relire la proposition pour {project} et m'envoyer tes remarques {deadline} ? Le document est dans le dossier partagé.\n\nMerci d'avance,\n{sender}"
            ),
            Template(
                subject: "Question rapide sur {ticket}",
                body:
                    "Salut {first},\n\nEst-ce que {ticket} dépend encore de {project} ? Je dois répondre au client {deadline}.\n\nBonne journée,\n{sender}"
            ),
        ],
        .es: [
            Template(
                subject: "¿Puedes revisar la propuesta de {project}?",
                body:
                    "Hola {first},\n\n¿Podrías revisar la propuesta de {project} y enviarme tus comentarios {deadline}? El documento está en la carpeta compartida.\n\nGracias,\n{sender}"
            ),
            Template(
                subject: "Pregunta sobre {ticket}",
                body:
                    "Hola {first},\n\n¿Sabes si {ticket} sigue bloqueado por {project}? Tengo que responder al cliente {deadline}.\n\nUn saludo,\n{sender}"
            ),
        ],
        .ja: [
            Template(
                subject: "{project}の提案書の確認をお願いします",
                body: "{first}さん\n\nお疲れ様です。{project}の提案書を{deadline}ご確認いただけますでしょうか。共有フォルダに置いてあります。\n\nよろしくお願いいたします。\n{sender}"
            ),
            Template(
                subject: "{ticket}について質問です",
                body: "{first}さん\n\n{ticket}はまだ{project}の作業待ちでしょうか。お客様に{deadline}回答する必要があります。\n\n{sender}"
            ),
        ],
    ]

    /// Updates that ask for nothing (the user is often only in Cc).
    static let updates: [Language: [Template]] = [
        .en: [
            Template(
                subject: "Status update: {project}",
                body:
                    "Hi all,\n\nQuick update on {project}: the first milestone is done and testing starts next week. No action needed from you.\n\nRegards,\n{sender}"
            ),
            Template(
                subject: "Notes from today's sync",
                body:
                    "Hi team,\n\nAttached are the notes from today's sync. Main decisions: we ship {project} behind a feature flag, and {ticket} moves to the next sprint.\n\n{sender}"
            ),
        ],
        .de: [
            Template(
                subject: "Kurzes Update zu {project}",
                body:
                    "Hallo zusammen,\n\nkurzer Stand zu {project}: Meilenstein 1 ist erledigt, die Tests beginnen nächste Woche.\n\nViele Grüße\n{sender}"
            )
        ],
        .fr: [
            Template(
                subject: "Point d'avancement : {project}",
                body:
                    "Bonjour à tous,\n\nPetit point sur {project} : la première étape est terminée, les tests commencent la semaine prochaine.\n\n{sender}"
            )
        ],
        .es: [
            Template(
                subject: "Actualización: {project}",
                body:
                    "Hola a todos,\n\nBreve actualización de {project}: el primer hito está completo y las pruebas empiezan la próxima semana.\n\n{sender}"
            )
        ],
        .ja: [
            Template(subject: "{project}の進捗報告", body: "皆さま\n\n{project}の進捗です。第一段階が完了し、来週からテストを開始します。\n\n{sender}")
        ],
    ]

    /// Replies within a thread.
    static let replies: [Language: [String]] = [
        .en: [
            "Thanks {first}, that works for me. I'll get back to you {deadline}.", "Sounds good. One question: is {ticket} part of this?",
            "Done, see the updated version in the folder.", "Sorry for the delay, I'll look at it today.",
        ],
        .de: ["Danke {first}, passt für mich. Ich melde mich {deadline}.", "Erledigt, die neue Version liegt im Ordner."],
        .fr: ["Merci {first}, ça me va. Je reviens vers toi {deadline}.", "C'est fait, la nouvelle version est dans le dossier."],
        .es: ["Gracias {first}, me parece bien. Te respondo {deadline}.", "Hecho, la nueva versión está en la carpeta."],
        .ja: ["{first}さん、ありがとうございます。{deadline}ご連絡します。", "対応しました。フォルダ内の最新版をご確認ください。"],
    ]

    /// Newsletters: sender name, address, subject, body.
    static let newsletters: [(name: String, address: String, subject: String, body: String)] = [
        (
            "The Weekly Stack", "newsletter@weeklystack.example", "This week: Swift concurrency, Postgres 17 and more",
            "Top stories this week:\n\n1. Structured concurrency in practice\n2. What's new in Postgres 17\n3. Five habits of effective on-call teams\n\nRead online: https://weeklystack.example/issues/212"
        ),
        (
            "Cloud Digest", "digest@cloudnews.example", "Your monthly cloud digest",
            "Hello,\n\nHere is your monthly digest: price changes, new regions and a guide to cost alerts.\n\nManage your subscription at https://cloudnews.example/preferences"
        ),
        (
            "Produkt-News", "news@softwarehaus.example", "Neu im November: Funktionen und Webinare",
            "Hallo,\n\ndiesen Monat neu: Dashboards, Exporte als PDF und unser Webinar zur Automatisierung.\n\nAbmelden: https://softwarehaus.example/abmelden"
        ),
        (
            "Travel Deals", "offers@travel-deals.example", "48h only: weekend getaways from 89 €",
            "Don't miss out! City breaks to Lisbon, Vienna and Prague from 89 €.\n\nBook now: https://travel-deals.example/weekend"
        ),
    ]

    /// Automated notifications: sender name, address, subject, body.
    static let notifications: [(name: String, address: String, subject: String, body: String)] = [
        (
            "GitHub", "notifications@github.example", "[acme/api] Build failed on main ({ticket})",
            "The workflow \"CI\" failed on main.\n\nCommit: {ticket} Fix pagination in search\nView the run: https://github.example/acme/api/actions/runs/{amount}\n\nYou are receiving this because you are subscribed to this repository."
        ),
        (
            "Jira", "jira@acme.atlassian.example", "[JIRA] ({ticket}) Status changed to In Review",
            "{sender} changed the status of {ticket} to In Review.\n\nThis message was sent by Atlassian Jira. Do not reply."
        ),
        (
            "Google Calendar", "calendar-notification@google.example", "Reminder: {project} sync @ 10:00",
            "This is a reminder for the event \"{project} sync\" today at 10:00.\n\nInvitation from Google Calendar"
        ),
        (
            "PagerDuty", "no-reply@pagerduty.example", "[Resolved] High latency on checkout-service",
            "Incident #{amount} has been resolved.\n\nService: checkout-service\nDuration: 14 minutes"
        ),
        (
            "Billing", "no-reply@billing.example", "Your invoice INV-{amount} is available",
            "Your invoice INV-{amount} for {amount} EUR is available in the billing portal. Payment is due in 14 days."
        ),
    ]

    /// Messages with things that look like secrets or card numbers (for classifier tests).
    static let sensitive: [Template] = [
        Template(
            subject: "Staging credentials",
            body:
                "Hi {first},\n\nHere are the staging credentials you asked for:\n\nAWS_ACCESS_KEY_ID=AKIAIOSFODNN7EXAMPLE\nAWS_SECRET_ACCESS_KEY=wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY\ndb password: Sup3r-S3cret!2024\n\nPlease don't forward this.\n{sender}"
        ),
        Template(
            subject: "Card for the conference booking",
            body:
                "Hi {first},\n\nPlease use the company card for the booking: 4111 1111 1111 1111, exp 12/27, CVC 123, name on card ACME LTD.\n\nThanks,\n{sender}"
        ),
        Template(
            subject: "API token for the integration",
            body:
                "Hey {first},\n\nthe token for the partner API is ghp_16C7e42F292c6912E7710c838347Ae178B4a and it expires next month.\n\n{sender}"
        ),
        Template(
            subject: "IBAN für die Erstattung",
            body: "Hallo {first},\n\nbitte überweise die Erstattung auf DE89 3704 0044 0532 0130 00 (Kontoinhaber {sender}).\n\nDanke!"
        ),
    ]

    /// Attachments: file name, MIME type.
    static let attachments: [(name: String, type: String)] = [
        ("invoice-2024-118.pdf", "application/pdf"), ("agenda.ics", "text/calendar"), ("q3-report.csv", "text/csv"),
        ("architecture.png", "image/png"),
        ("contract-draft.docx", "application/vnd.openxmlformats-officedocument.wordprocessingml.document"),
    ]

    static let replyPrefix: [Language: String] = [.en: "Re: ", .de: "AW: ", .fr: "RE : ", .es: "RE: ", .ja: "Re: "]

    /// `template` with the placeholders filled in.
    static func fill(_ template: String, values: [String: String]) -> String {
        guard template.contains("{") else { return template }
        var out = template
        for (key, value) in values { out = out.replacingOccurrences(of: "{\(key)}", with: value) }
        return out
    }
}
