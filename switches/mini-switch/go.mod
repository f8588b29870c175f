module posstorm.local/mini-switch

go 1.24
