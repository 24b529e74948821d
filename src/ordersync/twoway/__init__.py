"""Two-way (issue 13, DESIGN §9): what people write on the board comes back to the warehouse.

`pull` reads what changed on a board since its watermark (the scheduled backstop), `webhooks` receives
Monday's events and treats each as a hint to re-read the item; both record through `record`, into the
warehouse's tables (`warehouse`) and the state database's conflicts (`ordersync.state.conflicts`).
"""
